// Package readme holds the test that compiles the README's Go snippets.
package readme
