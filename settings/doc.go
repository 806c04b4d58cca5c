// Package settings lets tests override configuration that a program reads at start-up, and makes everything
// derived from it follow.
//
// The trap: a package computes a value when it is imported, in init() or in a package-level
// var x = build(), from os.Getenv, a flag or a config file; another package copies that value. A test
// that later calls [testing.T.Setenv] changes the environment, but the value was already built, so the
// override does nothing, and nothing fails to tell you.
//
// The fix has two halves. Production code registers a reinitialiser, a function that rebuilds the derived
// state, with [Register]; registration order is package init order, so a package that copies another's value
// ([WithAfter]) is rebuilt after it. Tests override through this package ([Setenv], [Unsetenv], [SetFlag],
// [SetValue], [Replace], [Set]): each override re-runs the reinitialisers that declared the changed key
// ([WithKeys]); at the end of the test the overrides are restored in reverse order and the reinitialisers run
// again, so the state after the test equals the state before it.
//
//	// production code, package dragon
//	var Hoard = build() // reads PUT_EGGS
//
//	func init() {
//		settings.Register("dragon", func() { Hoard = build() }, settings.WithKeys("PUT_EGGS"))
//	}
//
//	// dragon_test.go
//	settings.Setenv(t, "PUT_EGGS", "true") // re-runs "dragon" and everything registered After it
//
// New code can skip the reinitialiser: a [Setting] is a typed handle read lazily on every [Setting.Get], so
// it never goes stale, with [Setting.OnChange] for the few values that must still be derived eagerly.
//
// Overrides change process-wide state, so, like [testing.T.Setenv], they refuse to run in a parallel test
// (or one whose parent is parallel) and name the test and the fix; two tests that override the same key
// at once are both named. Code that reads a [Setting] through a context ([Setting.From]) can use
// [WithValue] instead, which is safe in parallel tests. Values computed in init() that no reinitialiser can
// rebuild are tested with [Subprocess], which runs the test again in a child process of the test binary with
// the environment it needs.
//
// The package imports only the standard library, so production code can register reinitialisers cheaply:
// importing it adds about 200 KB to a program (mostly packages testing, os/exec and encoding/json; measured
// with Go 1.26 on linux/amd64) and does no work at start-up. The test helpers take a [testing.TB];
// importing package testing registers no flags.
package settings
