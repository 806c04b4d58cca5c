// Package layout holds the test that enforces the dependency rules of
// DESIGN.md: assertq compiles without containers or the Docker client, and
// settings needs nothing but the standard library.
package layout
