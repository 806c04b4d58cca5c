package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// FuzzNoSecretInOutput: for any connection string built around a known
// secret, nothing pgtune prints contains it (see the same property for
// containers.Postgres and Tune in package containers).
func FuzzNoSecretInOutput(f *testing.F) {
	schemes := []string{"postgres", "Postgres", "postgress", "mysql", "postgresql"}
	for _, noise := range []string{"s3cret", "a@b", "p/q?r", "%zz", "@@:", "pw&password=x"} {
		for i := range dsn.Templates() {
			f.Add(noise, uint8(i), uint8(i))
		}
	}
	templates := dsn.Templates()
	f.Fuzz(func(t *testing.T, noise string, which, scheme uint8) {
		secret := dsn.SecretFor(noise)
		conn := fmt.Sprintf(templates[int(which)%len(templates)], schemes[int(scheme)%len(schemes)], secret)
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"-dsn", conn, "-timeout", "5s"}, &stdout, &stderr); code == 0 {
			t.Fatalf("pgtune -dsn %q succeeded against a server that does not exist", conn)
		}
		if out := stdout.String() + stderr.String(); dsn.Leaks(out, secret) {
			t.Errorf("pgtune -dsn %q shows the secret %q:\n%s", conn, secret, out)
		}
	})
}
