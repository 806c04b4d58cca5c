//go:build unix

package containers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/failure"
)

// Labels on every container the Docker provider makes, so that a later run
// can tell whose it is and sweep what a dead owner left.
const (
	labelRole    = "io.dbsuite.role"    // "server" or "seed-build"
	labelHost    = "io.dbsuite.host"    // hostname of the owner
	labelPID     = "io.dbsuite.pid"     // pid of the test binary that started it
	labelSession = "io.dbsuite.session" // pid of the go command whose run shares it, or 0
	labelStarted = "io.dbsuite.started" // RFC 3339 start time
	labelConfig  = "io.dbsuite.config"  // configuration key
	labelRun     = "io.dbsuite.run"     // run directory holding the alive lock
	labelImage   = "io.dbsuite.image"   // image the seed was made from
	labelPGDATA  = "io.dbsuite.pgdata"  // the image's PGDATA
	labelSecret  = "io.dbsuite.password"
)

// seedDir is where a seed image's data directory is initialised, and
// seedTar the archive of it that a container unpacks into its PGDATA (one
// file reads several times faster than a thousand from an overlay
// filesystem). Both are outside any VOLUME of an official image
// (/var/lib/postgresql/data up to 17, /var/lib/postgresql from 18), since
// docker commit leaves volumes out.
const (
	seedDir = "/dbsuite-seed/data"
	seedTar = "/dbsuite-seed/data.tar"
)

// seedInitArgs are the initdb arguments of a seed: no fsync (the data is
// disposable), and 1 MB WAL segments instead of 16 MB, so that the copy
// each container starts with is 24 MB instead of 39 MB.
const seedInitArgs = "--no-sync -E UTF8 --locale=C --wal-segsize=1"

// seedEntrypoint unpacks the seed data directory into an empty PGDATA (a
// tmpfs) and runs the image's own entrypoint ($0) with the command.
const seedEntrypoint = `set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	mkdir -p "$PGDATA"
	tar -C "$PGDATA" -xf ` + seedTar + `
fi
exec "$0" "$@"`

// seedPack turns the initialised data directory into seedTar, leaving
// out the WAL segments the server recycled for later use (4 of the 5 after
// initdb): only the one holding the shutdown checkpoint is needed, and the
// server makes new ones as it needs them. Every container unpacks the
// archive, so each megabyte left out is time saved at every start. Where
// pg_controldata cannot say which segment that is, all are kept. (They are
// excluded rather than removed: on fuse-overlayfs tar then finds the
// directory changed as it reads it, and fails.)
const seedPack = `set -e
ex=
wal=$(pg_controldata ` + seedDir + ` 2>/dev/null | sed -n "s/^Latest checkpoint's REDO WAL file: *//p")
if [ -n "$wal" ] && [ -f ` + seedDir + `/pg_wal/"$wal" ]; then
	for f in ` + seedDir + `/pg_wal/????????????????????????; do
		[ "${f##*/}" = "$wal" ] || ex="$ex --exclude=./pg_wal/${f##*/}"
	done
fi
tar -C ` + seedDir + ` $ex -cf ` + seedTar + ` .
rm -rf ` + seedDir + `
`

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
	if err := srv.probe(ctx); err != nil {
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

// dockerKey identifies containers that can be shared: the configuration
// and the image.
func dockerKey(c *serverOptions, image string) string {
	h := sha256.Sum256([]byte("docker v1\x00" + c.key() + "\x00" + image))
	return hex.EncodeToString(h[:])[:16]
}

// engine is a connection to the Docker engine.
type engine struct {
	cli  *testcontainers.DockerClient
	host string // DOCKER_HOST for the docker command the supervisor runs
}

var (
	engineMu           sync.Mutex
	engineVal          *engine
	engineErr          error
	engineAt           time.Time
	containerSweepOnce sync.Once
)

// dockerEngine connects to the Docker engine once per process (again after
// a failure, at most every 10 s).
func dockerEngine() (*engine, error) {
	engineMu.Lock()
	defer engineMu.Unlock()
	if engineVal != nil || (engineErr != nil && time.Since(engineAt) < 10*time.Second) {
		return engineVal, engineErr
	}
	engineAt = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	disableAbsentReaper(ctx)
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err == nil {
		_, err = cli.Ping(ctx, client.PingOptions{})
	}
	if err != nil {
		engineErr = (&engine{}).noEngine(err)
		return nil, engineErr
	}
	engineVal, engineErr = &engine{cli: cli, host: cli.DaemonHost()}, nil
	return engineVal, nil
}

// envRyukDisabled is testcontainers-go's switch for its reaper (Ryuk).
const envRyukDisabled = "TESTCONTAINERS_RYUK_DISABLED"

// disableAbsentReaper turns testcontainers-go's reaper off when the user
// did not say and its image is not on the machine: where no registry
// answers it cannot be pulled and every container would fail to start,
// and dbsuite removes its containers itself. A reaper image that is
// present is left to run (it does no harm). It must run before
// testcontainers-go first reads its configuration.
func disableAbsentReaper(ctx context.Context) {
	if _, set := os.LookupEnv(envRyukDisabled); set {
		return
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return
	}
	defer cli.Close()
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", "testcontainers/ryuk")})
	if err == nil && len(res.Items) == 0 {
		os.Setenv(envRyukDisabled, "true")
	}
}

// noEngine says that no Docker engine answers, and what to do.
func (*engine) noEngine(err error) error {
	return &failure.Error{Pkg: "containers", Headline: "docker: no Docker engine answers, want one to run PostgreSQL in",
		Details: []string{"error: " + firstLine(err.Error())},
		Fixes: []string{"start Docker (or Podman's Docker socket), or point DOCKER_HOST at an engine",
			"or use another provider: " + EnvURL + " for a server you run, or the local PostgreSQL binaries"},
		Err: err}
}

// dockerAvailable reports whether a Docker engine answers, for tests and
// the benchmarks: they may skip only where none does.
func dockerAvailable() error {
	_, err := dockerEngine()
	return err
}

// seedImage is an image whose data directory initdb already made.
type seedImage struct {
	tag      string
	image    string // the image it was made from
	password string
	built    time.Duration // 0 when it was already there
	note     string        // why this image, when it is not the one asked for
	pgdata   string        // the image's PGDATA
	volumes  []string      // the image's VOLUMEs
}

// errNotPulled is in the chain of the error of an image that is absent
// and could not be pulled.
var errNotPulled = errors.New("image not pulled")

// builtImage returns an image scripts/build-postgres-image.sh built, or "".
func (e *engine) builtImage(ctx context.Context) string {
	res, err := e.cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", "dbsuite/postgres")})
	if err != nil {
		return ""
	}
	for _, img := range res.Items {
		if len(img.RepoTags) > 0 {
			return img.RepoTags[0]
		}
	}
	return ""
}

// seed returns the seed image of image, making it once (under a file lock,
// so that parallel test binaries make it once).
func (e *engine) seed(ctx context.Context, image string) (seedImage, error) {
	info, err := e.cli.ImageInspect(ctx, image)
	if err != nil {
		if !isNotFound(err) {
			return seedImage{}, e.fail(image, "", "inspecting the image failed", err, nil)
		}
		if err := e.pull(ctx, image); err != nil {
			return seedImage{}, err
		}
		if info, err = e.cli.ImageInspect(ctx, image); err != nil {
			return seedImage{}, e.fail(image, "", "inspecting the pulled image failed", err, nil)
		}
	}
	h := sha256.Sum256([]byte("seed v1\x00" + info.ID + "\x00" + seedInitArgs + "\x00" + seedEntrypoint + "\x00" + seedPack))
	tag := "dbsuite-seed:" + hex.EncodeToString(h[:])[:16]
	read := func() (seedImage, bool) {
		si, err := e.cli.ImageInspect(ctx, tag)
		if err != nil || si.Config == nil || si.Config.Labels[labelSecret] == "" {
			return seedImage{}, false
		}
		s := seedImage{tag: tag, image: image, password: si.Config.Labels[labelSecret],
			pgdata: imageEnv(si.Config.Env, "PGDATA", "/var/lib/postgresql/data")}
		for v := range si.Config.Volumes {
			s.volumes = append(s.volumes, v)
		}
		slices.Sort(s.volumes)
		return s, true
	}
	if s, ok := read(); ok {
		return s, nil
	}
	root, err := cacheRoot()
	if err != nil {
		return seedImage{}, err
	}
	lk := flock.New(filepath.Join(root, "docker-seed-"+tag[len("dbsuite-seed:"):]+".lock"))
	defer lk.Close()
	if ok, err := lk.TryLockContext(ctx, 20*time.Millisecond); !ok {
		return seedImage{}, fmt.Errorf("containers: docker: waiting for the lock on %s: %v", lk.Path(), err)
	}
	defer lk.Unlock()
	if s, ok := read(); ok {
		return s, nil
	}
	t0 := time.Now()
	if info.Config == nil {
		return seedImage{}, e.fail(image, "", "the image has no configuration, want a PostgreSQL image like the official one", nil, nil)
	}
	if _, err := e.buildSeed(ctx, image, info.Config.Env, info.Config.Entrypoint, info.Config.Cmd, tag); err != nil {
		return seedImage{}, err
	}
	s, ok := read()
	if !ok {
		return seedImage{}, e.fail(image, "", "inspecting the new seed image "+tag+" failed", nil, nil)
	}
	s.built = time.Since(t0)
	return s, nil
}

// buildSeed runs image once with PGDATA at seedDir, waits until the server
// answers, shuts it down cleanly and commits the container as tag, with an
// entrypoint that copies the data directory into the image's PGDATA.
func (e *engine) buildSeed(ctx context.Context, image string, env, entrypoint, cmd []string, tag string) (seedImage, error) {
	pgdata := imageEnv(env, "PGDATA", "/var/lib/postgresql/data")
	password := randomHex(16)
	labels := ownerLabels("seed-build", "", "", 0)
	ctr, err := tcpostgres.Run(ctx, image,
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword(password), tcpostgres.WithDatabase("postgres"),
		testcontainers.WithEnv(map[string]string{"PGDATA": seedDir, "POSTGRES_INITDB_ARGS": seedInitArgs}),
		testcontainers.WithLabels(labels),
		testcontainers.WithHostConfigModifier(e.bindLoopback),
	)
	id := ""
	if ctr != nil {
		id = ctr.GetContainerID()
	}
	defer func() {
		if id != "" {
			e.remove(context.WithoutCancel(ctx), id)
		}
	}()
	if err != nil {
		return seedImage{}, e.fail(image, id, "starting a container to initialise the data directory failed", err, nil)
	}
	host, port, err := e.endpoint(ctx, id)
	if err != nil {
		return seedImage{}, e.fail(image, id, "reading the container's port failed", err, nil)
	}
	conn := dsn.KV("host", host, "port", strconv.Itoa(port), "user", "postgres", "password", password, "dbname", "postgres", "sslmode", "disable")
	if err := e.waitReady(ctx, id, conn, 3*time.Minute, nil); err != nil {
		return seedImage{}, e.fail(image, id, "the container that initialises the data directory did not become ready", err, nil)
	}
	// A clean shutdown (SIGINT: fast), so that the copy starts without
	// crash recovery.
	if _, err := e.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "INT"}); err != nil {
		return seedImage{}, e.fail(image, id, "stopping the initialised server failed", err, nil)
	}
	waited := e.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-waited.Result:
	case err := <-waited.Error:
		return seedImage{}, e.fail(image, id, "waiting for the initialised server to stop failed", err, nil)
	case <-ctx.Done():
		return seedImage{}, e.fail(image, id, "waiting for the initialised server to stop failed", ctx.Err(), nil)
	}
	// Pack the data directory into one archive: commit, run the packing
	// command in a container of that image, commit again.
	packID, err := e.pack(ctx, id, tag)
	defer func() {
		// The container first, then the image it runs: once the seed
		// is committed, the seed holds the layers it needs.
		e.remove(context.WithoutCancel(ctx), packID)
		_, _ = e.cli.ImageRemove(context.WithoutCancel(ctx), tag+"-unpacked", client.ImageRemoveOptions{})
	}()
	if err != nil {
		return seedImage{}, e.fail(image, packID, "packing the initialised data directory failed", err, e.logTail(context.WithoutCancel(ctx), packID))
	}
	entry := append([]string{"/bin/sh", "-c", seedEntrypoint}, entrypoint...)
	if len(entrypoint) == 0 {
		entry = append(entry, "env") // exec the command itself
	}
	entryJSON, _ := json.Marshal(entry)
	if len(cmd) == 0 {
		cmd = []string{"postgres"}
	}
	cmdJSON, _ := json.Marshal(cmd)
	_, err = e.cli.ContainerCommit(ctx, packID, client.ContainerCommitOptions{
		Reference: tag,
		Comment:   "dbsuite: " + image + " with its data directory initialised in " + seedDir,
		Changes: []string{
			"ENTRYPOINT " + string(entryJSON),
			"CMD " + string(cmdJSON),
			"ENV PGDATA=" + pgdata,
			"LABEL " + labelImage + "=" + strconv.Quote(image),
			"LABEL " + labelPGDATA + "=" + strconv.Quote(pgdata),
			"LABEL " + labelSecret + "=" + password,
			"LABEL " + labelRole + "=seed",
		},
	})
	if err != nil {
		return seedImage{}, e.fail(image, id, "committing the initialised data directory as "+tag+" failed", err, nil)
	}
	e.removeOldSeeds(ctx, image, tag)
	return seedImage{tag: tag, image: image, password: password}, nil
}

// removeOldSeeds removes the seed images of earlier builds of image (its
// tag now names another image), so that rebuilding an image does not pile
// up seeds. One that a container still uses stays.
func (e *engine) removeOldSeeds(ctx context.Context, image, keep string) {
	res, err := e.cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", labelImage+"="+image)})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		if !slices.Contains(img.RepoTags, keep) {
			_, _ = e.cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
}

// pack commits the stopped container id as a temporary image, runs
// seedPack in a container of it, and returns that container (stopped).
func (e *engine) pack(ctx context.Context, id, tag string) (string, error) {
	tmp := tag + "-unpacked"
	if _, err := e.cli.ContainerCommit(ctx, id, client.ContainerCommitOptions{Reference: tmp}); err != nil {
		return "", err
	}
	ctr, err := testcontainers.Run(ctx, tmp,
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithEntrypoint("/bin/sh", "-c", seedPack),
		testcontainers.WithCmd(),
		testcontainers.WithLabels(ownerLabels("seed-build", "", "", 0)),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(2*time.Minute)),
	)
	packID := ""
	if ctr != nil {
		packID = ctr.GetContainerID()
	}
	if err != nil {
		return packID, err
	}
	res, err := e.cli.ContainerInspect(ctx, packID, client.ContainerInspectOptions{})
	if err != nil {
		return packID, err
	}
	if st := res.Container.State; st == nil || st.ExitCode != 0 {
		return packID, fmt.Errorf("%q did not succeed (state %+v)", seedPack, st)
	}
	return packID, nil
}

// pull fetches an image that is not on the machine, once, and says what to
// do when no registry can be reached.
func (e *engine) pull(ctx context.Context, image string) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	resp, err := e.cli.ImagePull(pctx, image, client.ImagePullOptions{})
	if err == nil {
		var msgs bytes.Buffer
		_, err = io.Copy(&msgs, resp)
		resp.Close()
		if err == nil {
			err = pullError(msgs.Bytes())
		}
	}
	if err == nil {
		return nil
	}
	return pullFailure(image, err)
}

// pullFailure says that image is absent and could not be pulled, and what
// to do.
func pullFailure(image string, err error) error {
	return &failure.Error{Pkg: "containers",
		Headline: fmt.Sprintf("docker: image %s is not on this machine and pulling it failed, want a PostgreSQL image", image),
		Details:  []string{"docker: " + firstLine(err.Error())},
		Fixes: []string{
			"docker pull " + image + " where a registry can be reached, or docker load it",
			"or build one from Debian packages with scripts/build-postgres-image.sh (in the dbsuite module) and set " + EnvImage + "=dbsuite/postgres:15 (or containers.WithImage)",
		},
		Err: errors.Join(errNotPulled, err)}
}

// pullError finds an error in the JSON messages of an image pull.
func pullError(msgs []byte) error {
	dec := json.NewDecoder(bytes.NewReader(msgs))
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err != nil {
			return nil
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// dockerServer is a container dbsuite started, by this process or by
// another test binary that shares it.
type dockerServer struct {
	eng      *engine
	id       string
	image    string
	host     string
	port     int
	password string
	runDir   string
	launched bool // by this process
	how      string
	// settingsErr says which settings are not in effect in a container
	// this process launched.
	settingsErr error
	alive       *flock.Flock // shared lock held for as long as this process uses the container
}

func (ds *dockerServer) dsn(db string) string {
	return dsn.KV("host", ds.host, "port", strconv.Itoa(ds.port), "user", "postgres",
		"password", ds.password, "dbname", db, "sslmode", "disable")
}

func (ds *dockerServer) short() string {
	if len(ds.id) > 12 {
		return ds.id[:12]
	}
	return ds.id
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
		ds.short(), db, ds.short(), ds.runDir)
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

// dockerState is what the state file records about a shared container.
type dockerState struct {
	RunDir    string `json:"run_dir"`
	Container string `json:"container"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
}

// joinOrLaunch joins the container of this configuration that another test
// binary of the run started, or starts one and records it.
func (e *engine) joinOrLaunch(ctx context.Context, seed seedImage, c *serverOptions, key string) (*dockerServer, error) {
	root, err := cacheRoot()
	if err != nil {
		return nil, err
	}
	statePath := filepath.Join(root, "docker-"+key+".json")
	lk := flock.New(filepath.Join(root, "docker-"+key+".lock"))
	defer lk.Close()
	if ok, err := lk.TryLockContext(ctx, 5*time.Millisecond); !ok {
		return nil, fmt.Errorf("containers: docker: waiting for %s: %v", lk.Path(), err)
	}
	defer lk.Unlock()
	if b, err := os.ReadFile(statePath); err == nil {
		var st dockerState
		if json.Unmarshal(b, &st) == nil && st.RunDir != "" {
			if ds := e.join(ctx, st, seed); ds != nil {
				return ds, nil
			}
		}
	}
	ds, err := e.launch(ctx, seed, c, key, goCommandPID())
	if err != nil {
		return nil, err
	}
	if err := writeState(statePath, dockerState{RunDir: ds.runDir, Container: ds.id, Host: ds.host, Port: ds.port}); err != nil {
		// Not silently: without the state file no other binary finds it.
		ds.how += fmt.Sprintf(" (not shared with other test binaries: %v)", err)
	}
	return ds, nil
}

// join takes a shared hold on a recorded container and checks that it
// answers. It returns nil when the container is gone or being removed.
func (e *engine) join(ctx context.Context, st dockerState, seed seedImage) *dockerServer {
	alive := holdAlive(st.RunDir, st.RunDir)
	if alive == nil {
		return nil
	}
	ds := &dockerServer{eng: e, id: st.Container, image: seed.image, host: st.Host, port: st.Port,
		password: seed.password, runDir: st.RunDir, alive: alive}
	if !accepts(ctx, ds.dsn("postgres")) {
		alive.Close()
		return nil
	}
	ds.how = "joined container " + ds.short() + " (" + seed.image + ") that another test binary started"
	return ds
}

// launch starts a container from the seed image, with a supervisor that
// removes it once no process holds its alive lock (and, when session is
// not 0, once that go command has exited).
func (e *engine) launch(ctx context.Context, seed seedImage, c *serverOptions, key string, session int) (*dockerServer, error) {
	self := identity{uid: os.Geteuid(), gid: os.Getegid()}
	rroot, err := runRoot(self)
	if err != nil {
		return nil, err
	}
	prefix := "docker-p"
	if !c.private {
		prefix = "docker-" + key[:8]
	}
	runDir := filepath.Join(rroot, prefix+"-"+randomHex(6))
	if err := privateDir(runDir, self); err != nil {
		return nil, err
	}
	alive := flock.New(filepath.Join(runDir, "alive"))
	if ok, err := alive.TryRLock(); !ok {
		os.RemoveAll(runDir)
		return nil, fmt.Errorf("containers: docker: lock %s: %v", alive.Path(), err)
	}
	supervised := e.startSupervisor(runDir, session) == nil
	fail := func(err error) (*dockerServer, error) {
		alive.Close()
		if !supervised {
			os.RemoveAll(runDir)
		}
		return nil, err
	}
	// A tmpfs at PGDATA and at every VOLUME of the image: the data is
	// in memory and no anonymous volume is made.
	tmpfs := []string{seed.pgdata}
	for _, v := range seed.volumes {
		if !slices.Contains(tmpfs, v) {
			tmpfs = append(tmpfs, v)
		}
	}
	cmd := []string{"postgres"}
	for _, k := range c.settings.names() {
		cmd = append(cmd, "-c", k+"="+c.settings[k])
	}
	t0 := time.Now()
	ctr, err := tcpostgres.Run(ctx, seed.tag,
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword(seed.password), tcpostgres.WithDatabase("postgres"),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithLabels(ownerLabels("server", key, runDir, session)),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			e.bindLoopback(hc)
			for _, p := range tmpfs {
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeTmpfs, Target: p})
			}
		}),
	)
	id := ""
	if ctr != nil {
		id = ctr.GetContainerID()
	}
	ds := &dockerServer{eng: e, id: id, image: seed.image, password: seed.password, runDir: runDir, launched: true, alive: alive}
	if err != nil {
		if id != "" {
			e.remove(context.WithoutCancel(ctx), id)
		}
		return fail(e.fail(seed.image, id, "starting the container failed", err, nil))
	}
	started := time.Since(t0)
	if ds.host, ds.port, err = e.endpoint(ctx, id); err == nil {
		// The first connection that answers also checks the settings.
		err = e.waitReady(ctx, id, ds.dsn("postgres"), c.startTimeout, func(ctx context.Context, conn *pgx.Conn) {
			ds.settingsErr = verifySettingsOn(ctx, conn, c.settings)
		})
	}
	if err != nil {
		logs := e.logTail(context.WithoutCancel(ctx), id)
		e.remove(context.WithoutCancel(ctx), id)
		return fail(e.fail(seed.image, id, "the container did not become ready", err, logs))
	}
	seedHow := seed.note + "reused seed image " + seed.tag
	if seed.built > 0 {
		seedHow = fmt.Sprintf("%sinitdb once into seed image %s in %v", seed.note, seed.tag, seed.built.Round(time.Millisecond))
	}
	ds.how = fmt.Sprintf("container %s from %s (%s; container started in %v, answered SELECT 1 after %v)",
		ds.short(), seed.image, seedHow, started.Round(time.Millisecond), (time.Since(t0) - started).Round(time.Millisecond))
	if !supervised {
		ds.how += "; no docker command or flock(1): a killed test binary's container is removed by the next run"
	}
	return ds, nil
}

// dockerSupervisor removes the containers labelled with run dir $1 once
// no process holds $1/alive and the process $2 (the go command, or 0) is
// gone, then the directory. It checks twice a second while $2 runs.
const dockerSupervisor = `
run="$1"; session="$2"
while :; do
	flock -x "$run/alive" sh -c '
		run="$1"; session="$2"
		if [ "$session" != 0 ] && kill -0 "$session" 2>/dev/null && [ -d "$run" ]; then
			exit 3
		fi
		[ -f "$run/keep" ] && exit 0
		ids=$(docker ps -aq --filter "label=` + labelRun + `=$run")
		[ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1
		rm -rf "$run"
		rmdir "$(dirname "$run")" 2>/dev/null
		exit 0
	' sh "$run" "$session"
	[ "$?" = 3 ] || exit 0
	sleep 0.5
done
`

// startSupervisor starts the process that removes the container of runDir
// when the test binaries are done with it, however they end (kill -9,
// go test -timeout, Ctrl-C). It needs the docker command and flock(1).
func (e *engine) startSupervisor(runDir string, session int) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return err
	}
	if !canShare() {
		return errors.New("no flock(1)")
	}
	cmd := exec.Command("/bin/sh", "-c", dockerSupervisor, "sh", runDir, strconv.Itoa(session))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	cmd.Env = os.Environ()
	if e.host != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+e.host)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// endpoint returns where the container's port 5432 is published.
func (e *engine) endpoint(ctx context.Context, id string) (string, int, error) {
	res, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", 0, err
	}
	if res.Container.NetworkSettings == nil {
		return "", 0, errors.New("the container has no network settings")
	}
	for p, bindings := range res.Container.NetworkSettings.Ports {
		if p.Num() != 5432 || len(bindings) == 0 {
			continue
		}
		port, err := strconv.Atoi(bindings[0].HostPort)
		if err != nil {
			return "", 0, fmt.Errorf("port 5432 is published as %q", bindings[0].HostPort)
		}
		return e.publishedHost(), port, nil
	}
	return "", 0, errors.New("port 5432 is not published (the image must EXPOSE 5432)")
}

// publishedHost is where published ports are reached: the
// TESTCONTAINERS_HOST_OVERRIDE variable, the host of a TCP DOCKER_HOST, else
// loopback. (Inside a container testcontainers-go dials the bridge's
// gateway instead; where the engine runs in this container's network
// namespace, or on the host of a local socket, loopback is right.)
func (e *engine) publishedHost() string {
	if h := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); h != "" {
		return h
	}
	if u, err := url.Parse(e.host); err == nil && (u.Scheme == "tcp" || u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" {
		return u.Hostname()
	}
	return "127.0.0.1"
}

// bindLoopback publishes port 5432 on loopback only, when that is where
// it is reached.
func (e *engine) bindLoopback(hc *container.HostConfig) {
	if e.publishedHost() != "127.0.0.1" {
		return
	}
	p, _ := network.ParsePort("5432/tcp")
	if hc.PortBindings == nil {
		hc.PortBindings = network.PortMap{}
	}
	hc.PortBindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
}

// waitReady waits until a connection answers SELECT 1: not the log line,
// which the official image prints once during initdb and again after (and
// an initialised data directory prints once). It fails early when the
// container exits, which one ContainerWait request reports (no polling).
// onReady, when not nil, runs on the connection that answered, before it
// is closed.
func (e *engine) waitReady(ctx context.Context, id, conn string, limit time.Duration, onReady func(context.Context, *pgx.Conn)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t0 := time.Now()
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		return err
	}
	exited := e.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.ConnectConfig(cctx, cfg)
		if err == nil {
			var one int
			err = c.QueryRow(cctx, "SELECT 1").Scan(&one)
			if err == nil && onReady != nil {
				onReady(ctx, c)
			}
			c.Close(cctx)
		}
		ccancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer to SELECT 1 after %v: %v", time.Since(t0).Round(time.Millisecond), last)
		case res := <-exited.Result:
			return fmt.Errorf("the container exited (code %d) before answering SELECT 1", res.StatusCode)
		case <-time.After(3 * time.Millisecond):
		}
	}
}

// remove removes a container with its volumes (docker rm -f -v).
func (e *engine) remove(ctx context.Context, id string) {
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, _ = e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// logTail returns the last lines the container printed.
func (e *engine) logTail(ctx context.Context, id string) []byte {
	if id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "25"})
	if err != nil {
		return []byte("(no log: " + err.Error() + ")")
	}
	defer rc.Close()
	var b bytes.Buffer
	_, _ = io.Copy(&b, rc)
	return demux(b.Bytes())
}

// demux strips the 8-byte frame headers of a non-TTY container's log
// stream.
func demux(b []byte) []byte {
	var out []byte
	for len(b) >= 8 && b[0] <= 2 && b[1] == 0 && b[2] == 0 && b[3] == 0 {
		n := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		if 8+n > len(b) {
			break
		}
		out = append(out, b[8:8+n]...)
		b = b[8+n:]
	}
	return append(out, b...)
}

// fail builds a Docker provider failure: what happened, the image, the
// Docker error, the container's log tail, and what to do.
func (e *engine) fail(image, id, what string, err error, logs []byte) error {
	details := []string{"image: " + image}
	if id != "" {
		details = append(details, "container: "+shortID(id))
	}
	if err != nil {
		details = append(details, "error: "+err.Error())
	}
	if len(logs) > 0 {
		details = append(details, "container log (last lines):\n  "+failure.Indent(strings.TrimSpace(string(logs)), 2))
	}
	msg := ""
	if err != nil {
		msg = strings.ToLower(err.Error())
	}
	var fixes []string
	switch {
	case strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use"):
		fixes = append(fixes, "a port it publishes is in use: stop what holds it (docker ps; ss -ltnp), or publish no fixed host port")
	case strings.Contains(msg, "ryuk") || strings.Contains(msg, "reaper"):
		fixes = append(fixes, "testcontainers-go's reaper (Ryuk) could not start: set TESTCONTAINERS_RYUK_DISABLED=true (dbsuite removes its containers itself)")
	case strings.Contains(msg, "no such image") || strings.Contains(msg, "not found"):
		fixes = append(fixes, "the image is not on this machine: docker pull "+image+", or build one with scripts/build-postgres-image.sh and set "+EnvImage)
	case len(logs) > 0:
		fixes = append(fixes, "read the container log above; the image must start like the official postgres image (POSTGRES_PASSWORD, postgres -c name=value arguments)")
	}
	fixes = append(fixes, "or use another provider: "+EnvURL+" for a server you run, or the local PostgreSQL binaries")
	return &failure.Error{Pkg: "containers", Headline: "docker: " + what + ", want a PostgreSQL container answering SELECT 1",
		Details: details, Fixes: fixes, Err: err}
}

// ownerLabels are the labels of a container this process starts.
func ownerLabels(role, key, runDir string, session int) map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		labelRole:    role,
		labelHost:    host,
		labelPID:     strconv.Itoa(os.Getpid()),
		labelSession: strconv.Itoa(session),
		labelStarted: time.Now().UTC().Format(time.RFC3339),
		labelConfig:  key,
		labelRun:     runDir,
	}
}

// sweepContainers removes what dead owners on this host left: containers
// whose run directory is gone or held by no process (and whose go command
// has exited), and seed builds whose test binary has exited.
func sweepContainers(ctx context.Context, e *engine) {
	host, _ := os.Hostname()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", labelHost+"="+host)})
	if err != nil {
		return
	}
	for _, ctr := range res.Items {
		if leftover(ctr.Labels) {
			e.remove(ctx, ctr.ID)
			if run := ctr.Labels[labelRun]; run != "" && filepath.IsAbs(run) {
				os.RemoveAll(run)
			}
		}
	}
}

// leftover reports whether a labelled container on this host has no live
// owner.
func leftover(labels map[string]string) bool {
	alive := func(label string) bool {
		pid, err := strconv.Atoi(labels[label])
		return err == nil && pid > 0 && pidAlive(pid)
	}
	switch labels[labelRole] {
	case "seed-build":
		return !alive(labelPID)
	case "server":
		run := labels[labelRun]
		if run == "" {
			return !alive(labelPID)
		}
		if _, err := os.Stat(run); err != nil {
			return true // its supervisor removed the directory, or it never had one
		}
		if _, err := os.Stat(filepath.Join(run, "keep")); err == nil {
			return false // kept for a failed test
		}
		if alive(labelSession) {
			return false
		}
		lk := flock.New(filepath.Join(run, "alive"))
		defer lk.Close()
		ok, err := lk.TryLock()
		return ok && err == nil
	}
	return false
}

// imageEnv returns the value of name in an image's environment.
func imageEnv(env []string, name, def string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok && v != "" {
			return path.Clean(v)
		}
	}
	return def
}

func isNotFound(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no such image") || strings.Contains(msg, "not found")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
