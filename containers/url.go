package containers

import (
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// connURL returns a connection string as a postgres:// URL for clients
// that take only URLs and dial what the host query parameter names (bun's
// pgdriver): a unix socket is named by the socket file itself
// (/dir/.s.PGSQL.5432), not by its directory as libpq would; a TCP host and
// port go in the authority.
func connURL(s string) (string, error) {
	if dsn.IsURL(s) {
		return s, nil
	}
	cfg, err := pgconn.ParseConfig(s)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "postgres", Path: "/" + cfg.Database}
	switch {
	case cfg.User != "" && cfg.Password != "":
		u.User = url.UserPassword(cfg.User, cfg.Password)
	case cfg.User != "":
		u.User = url.User(cfg.User)
	}
	q := url.Values{}
	port := ""
	if cfg.Port != 5432 {
		port = strconv.Itoa(int(cfg.Port))
	}
	if strings.HasPrefix(cfg.Host, "/") {
		q.Set("host", filepath.Join(cfg.Host, ".s.PGSQL."+strconv.Itoa(int(cfg.Port))))
	} else {
		u.Host = cfg.Host
		if port != "" {
			u.Host = net.JoinHostPort(cfg.Host, port)
		}
	}
	if mode := dsn.Param(s, "sslmode"); mode != "" {
		q.Set("sslmode", mode)
	}
	// Slashes need no escaping in a query, and read better.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "%2F", "/")
	return u.String(), nil
}
