//go:build unix

// The Docker provider: dockerProvider and the dockerServer it starts.

package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/failure"
)

// dockerProvider runs PostgreSQL in Docker. The first time an image is
// used it runs it once (initdb) and commits the initialised data directory
// as a seed image; every later container starts from the seed with the
// data directory copied onto a tmpfs and the settings as postgres -c
// arguments, and is ready when a connection answers SELECT 1.
type dockerProvider struct{}

func (dockerProvider) name() string { return ProviderDocker }

func (dockerProvider) explicit(c *serverOptions) bool { return c.image != "" }

func (dockerProvider) unavailable(c *serverOptions) string {
	if _, err := dockerEngine(); err != nil {
		var f *failure.Error
		if errors.As(err, &f) && f.Err != nil {
			err = f.Err
		}
		return "no Docker engine answers (" + firstLine(err.Error()) + "): start Docker, or point DOCKER_HOST at an engine"
	}
	if c.binDir != "" || c.runAs != "" {
		return "WithBinDir and WithRunAs apply to local servers"
	}
	return ""
}

func (dockerProvider) start(ctx context.Context, c *serverOptions) (*Server, error) {
	eng, err := dockerEngine()
	if err != nil {
		return nil, err
	}
	image := c.dockerImage()
	containerSweepOnce.Do(func() { sweepContainers(ctx, eng) })
	seed, err := eng.seed(ctx, image)
	if errors.Is(err, errNotPulled) && c.image == "" && os.Getenv(EnvImage) == "" {
		// The default image cannot be had: an image built by
		// scripts/build-postgres-image.sh will do.
		if built := eng.builtImage(ctx); built != "" {
			seed, err = eng.seed(ctx, built)
			seed.note = image + " is not on this machine and cannot be pulled; "
		}
	}
	if err != nil {
		return nil, err
	}
	key := dockerKey(c, image)
	var ds *dockerServer
	if c.private || !canShare() {
		ds, err = eng.launch(ctx, seed, c, key, 0)
	} else {
		ds, err = eng.joinOrLaunch(ctx, seed, c, key)
	}
	if err != nil {
		return nil, err
	}
	srv := &Server{
		provider: ProviderDocker,
		dsn:      ds.dsn("postgres"),
		password: seed.password,
		private:  c.private,
		docker:   ds,
		how:      ds.how,
	}
	conn := ds.conn
	ds.conn = nil
	err = srv.probeOn(ctx, conn)
	if conn != nil {
		conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		_ = ds.shutdown()
		return nil, err
	}
	if ds.settingsErr != nil {
		// The settings are postgres -c arguments, verified with SHOW on
		// the connection that answered first.
		_ = ds.shutdown()
		return nil, srv.errorf("%v", ds.settingsErr)
	}
	return srv, nil
}

// dockerKey identifies containers that can be shared: the configuration
// and the image.
func dockerKey(c *serverOptions, image string) string {
	h := sha256.Sum256([]byte("docker v1\x00" + c.key() + "\x00" + image))
	return hex.EncodeToString(h[:])[:16]
}

// dockerServer is a container dbsuite started, by this process or by
// another test binary that shares it.
type dockerServer struct {
	eng      *engine
	id       string
	host     string
	port     int
	password string
	runDir   string
	how      string
	// settingsErr says which settings are not in effect in a container
	// this process launched.
	settingsErr error
	alive       *flock.Flock // shared lock held for as long as this process uses the container
	conn        *pgx.Conn    // the connection that found it answering, for Server.probeOn
}

func (ds *dockerServer) dsn(db string) string {
	return dsn.KV("host", ds.host, "port", strconv.Itoa(ds.port), "user", "postgres",
		"password", ds.password, "dbname", db, "sslmode", "disable")
}

// dockerRestartHint is what [Server.Tune] says when a setting of a
// container dbsuite started needs a restart: a restart would empty its
// tmpfs data directory.
const dockerRestartHint = "none: a container dbsuite starts takes its settings as postgres -c arguments; " +
	"get one started with these settings from containers.Postgres(t, containers.WithSettings(...))"

// keep leaves the container running after the tests, and says how to
// reach db in it and how to remove it.
func (ds *dockerServer) keep(db string) string {
	if ds.runDir != "" {
		_ = os.WriteFile(filepath.Join(ds.runDir, "keep"), nil, 0o600)
	}
	return fmt.Sprintf("\nor: docker exec -it %s psql -U postgres -d %s"+
		"\nthe container stays up after the tests; remove it with: docker rm -f -v %s && rm -rf %s",
		shortID(ds.id), db, shortID(ds.id), ds.runDir)
}

// shutdown removes the container with its volumes and releases this
// process's hold on it.
func (ds *dockerServer) shutdown() error {
	ds.eng.remove(context.Background(), ds.id)
	if ds.alive != nil {
		ds.alive.Close()
	}
	if ds.runDir != "" {
		return os.RemoveAll(ds.runDir)
	}
	return nil
}
