//go:build unix

// Readiness of a Docker container and verification of the settings it runs with.

package containers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// verifySettings checks with SHOW that every setting is in effect, as
// PostgreSQL reads its value (8GB and 8192MB are the same).
func verifySettings(ctx context.Context, connString string, want Settings) error {
	conn, err := connect(ctx, connString)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return verifySettingsOn(ctx, conn, want)
}

// verifySettingsOn is [verifySettings] on an open connection.
func verifySettingsOn(ctx context.Context, conn *pgx.Conn, want Settings) error {
	lower := Settings{}
	for k, v := range want {
		lower[strings.ToLower(k)] = v
	}
	names := lower.names()
	infos, err := readSettings(ctx, conn, names)
	if err != nil {
		return err
	}
	rows, err := conn.Query(ctx, "SELECT lower(name), current_setting(name) FROM pg_settings WHERE lower(name) = ANY($1)", names)
	if err != nil {
		return fmt.Errorf("containers: docker: SHOW: %v", err)
	}
	shown := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return fmt.Errorf("containers: docker: SHOW: %v", err)
		}
		shown[n] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("containers: docker: SHOW: %v", err)
	}
	var bad []string
	for _, name := range names {
		si, ok := infos[name]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s = %s: no such setting", name, lower[name]))
			continue
		}
		w, werr := si.normalize(lower[name])
		g, gerr := si.normalize(shown[name])
		if werr != nil || gerr != nil || w != g {
			bad = append(bad, fmt.Sprintf("%s = %s: SHOW says %s (source: %s)", name, lower[name], shown[name], si.source))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &failure.Error{Pkg: "containers", Headline: "docker: the container does not run with the settings it was given, want every setting in effect",
		Details: bad, Fixes: []string{"check the image's entrypoint passes postgres -c arguments on to the server, as the official image's does"}}
}

// waitReady waits until a connection answers SELECT 1: not the log line,
// which the official image prints once during initdb and again after (and
// an initialised data directory prints once). It fails early when the
// container exits, which one ContainerWait request reports (no polling).
// It returns the connection that answered, open: the caller's next
// queries need not connect again.
func (e *engine) waitReady(ctx context.Context, id, conn string, limit time.Duration) (*pgx.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t0 := time.Now()
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		return nil, err
	}
	exited := e.cli.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var last error
	for {
		cctx, ccancel := context.WithTimeout(wctx, 2*time.Second)
		c, err := pgx.ConnectConfig(cctx, cfg)
		if err == nil {
			var one int
			if err = c.QueryRow(cctx, "SELECT 1").Scan(&one); err != nil {
				c.Close(cctx)
			}
		}
		ccancel()
		if err == nil {
			return c, nil
		}
		last = err
		select {
		case <-wctx.Done():
			return nil, fmt.Errorf("no answer to SELECT 1 after %v: %v", time.Since(t0).Round(time.Millisecond), last)
		case res := <-exited.Result:
			return nil, fmt.Errorf("the container exited (code %d) before answering SELECT 1", res.StatusCode)
		case <-time.After(3 * time.Millisecond):
		}
	}
}
