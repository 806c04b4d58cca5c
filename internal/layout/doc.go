// Package layout holds the tests that enforce the dependency rules of
// DESIGN.md (assertq and fixtures compile without containers or the Docker
// client; settings needs nothing but the standard library and dbsuite's own
// standard-library-only internal packages), and that no dbsuite package
// registers a flag a user's test binary may define itself.
package layout
