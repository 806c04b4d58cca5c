//go:build unix

package containers_test

import (
	"fmt"
	"testing"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/dsn"
)

// schemes are the ways users (and the audit) spell the start of a URL.
var schemes = []string{"postgres", "Postgres", "postgresql", "POSTGRESQL", "postgress", "mysql", "postgre"}

// FuzzNoSecretInMessages checks the property that matters: for any
// connection string built around a known secret, in every place a
// password goes and however malformed, nothing Postgres (through
// DBSUITE_POSTGRES_URL) or Tune prints contains the secret. The servers
// named do not exist (127.0.0.1:1), so every run ends in an error. `go
// test` runs the seeds; `go test -fuzz FuzzNoSecretInMessages` explores.
func FuzzNoSecretInMessages(f *testing.F) {
	for _, noise := range []string{"s3cret", "a@b", "p/q?r", "x y", "%zz", "@@:", "pw&password=x", "'q'", "k=v"} {
		for i := range dsn.Templates() {
			f.Add(noise, uint8(i), uint8(i))
		}
	}
	templates := dsn.Templates()
	f.Fuzz(func(t *testing.T, noise string, which, scheme uint8) {
		secret := dsn.SecretFor(noise)
		conn := fmt.Sprintf(templates[int(which)%len(templates)], schemes[int(scheme)%len(schemes)], secret)
		_, err := containers.Tune(t.Context(), conn, containers.Settings{"work_mem": "2MB"})
		if err == nil {
			t.Fatalf("Tune(%q) succeeded against a server that does not exist", conn)
		}
		if dsn.Leaks(err.Error(), secret) {
			t.Errorf("Tune(%q) error shows the secret %q:\n%v", conn, secret, err)
		}
		t.Setenv(containers.EnvURL, conn)
		fake := runFake(t, false, func(tb testing.TB) { containers.Postgres(tb) })
		if dsn.Leaks(fake.output(), secret) {
			t.Errorf("Postgres with %s=%q shows the secret %q:\n%s", containers.EnvURL, conn, secret, fake.output())
		}
	})
}
