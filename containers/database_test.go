//go:build unix

package containers_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestDatabaseURL connects with the URL form of a database's connection
// string, over a unix socket and over TCP.
func TestDatabaseURL(t *testing.T) {
	tests := []struct {
		name     string
		opts     []containers.Option
		wantHost string // in the query (a socket directory) or the authority
		password bool
	}{
		{"unix socket", nil, "query", false},
		{"tcp", []containers.Option{containers.WithTCP(true), containers.WithPrivate(true)}, "authority", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := containers.Postgres(t, tt.opts...).Database(t)
			raw := db.URL()
			u, err := url.Parse(raw)
			require.NoError(t, err)
			assert.Equal(t, "postgres", u.Scheme)
			assert.Equal(t, "/"+db.Name(), u.Path)
			assert.Equal(t, "disable", u.Query().Get("sslmode"))
			_, hasPW := u.User.Password()
			assert.Equal(t, tt.password, hasPW)
			if tt.wantHost == "query" {
				assert.Empty(t, u.Host)
				assert.Contains(t, raw, "host=/", "the socket directory, unescaped")
			} else {
				assert.NotEmpty(t, u.Port())
			}
			assert.Equal(t, db.Name(), query[string](t, raw, "SELECT current_database()"))
		})
	}
}
