//go:build unix

// The seed image of the Docker provider: initdb once per image, build, pack, pull, lookup and pruning of old seeds.

package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/failure"
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
// pg_controldata cannot say which segment that is, all are kept. It also
// leaves out the free space and visibility maps of the catalogs of
// initdb's databases, as the local provider's cache does (slimCatalogMaps
// says why). (Both are excluded rather than removed: on fuse-overlayfs tar
// then finds the directory changed as it reads it, and fails.)
const seedPack = `set -e
ex=
wal=$(pg_controldata ` + seedDir + ` 2>/dev/null | sed -n "s/^Latest checkpoint's REDO WAL file: *//p")
if [ -n "$wal" ] && [ -f ` + seedDir + `/pg_wal/"$wal" ]; then
	for f in ` + seedDir + `/pg_wal/????????????????????????; do
		[ "${f##*/}" = "$wal" ] || ex="$ex --exclude=./pg_wal/${f##*/}"
	done
fi
for f in ` + seedDir + `/base/*/*_fsm ` + seedDir + `/base/*/*_vm; do
	if [ -f "$f" ]; then ex="$ex --exclude=./${f#` + seedDir + `/}"; fi
done
tar -C ` + seedDir + ` $ex -cf ` + seedTar + ` .
rm -rf ` + seedDir + `
`

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
		if !cerrdefs.IsNotFound(err) {
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
	lock := filepath.Join(root, "docker-seed-"+tag[len("dbsuite-seed:"):]+".lock")
	release, err := lockFile(ctx, lock)
	if err != nil {
		return seedImage{}, fmt.Errorf("containers: docker: waiting for the lock on %s: %v", lock, err)
	}
	defer release()
	if s, ok := read(); ok {
		return s, nil
	}
	t0 := time.Now()
	if info.Config == nil {
		return seedImage{}, e.fail(image, "", "the image has no configuration, want a PostgreSQL image like the official one", nil, nil)
	}
	if err := e.buildSeed(ctx, image, info.Config.Env, info.Config.Entrypoint, info.Config.Cmd, tag); err != nil {
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
func (e *engine) buildSeed(ctx context.Context, image string, env, entrypoint, cmd []string, tag string) error {
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
		return e.fail(image, id, "starting a container to initialise the data directory failed", err, nil)
	}
	host, port, err := e.endpoint(ctx, id)
	if err != nil {
		return e.fail(image, id, "reading the container's port failed", err, nil)
	}
	conn := dsn.KV("host", host, "port", strconv.Itoa(port), "user", "postgres", "password", password, "dbname", "postgres", "sslmode", "disable")
	ready, err := e.waitReady(ctx, id, conn, 3*time.Minute)
	if err != nil {
		return e.fail(image, id, "the container that initialises the data directory did not become ready", err, nil)
	}
	ready.Close(ctx)
	// A clean shutdown (SIGINT: fast), so that the copy starts without
	// crash recovery.
	if _, err := e.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "INT"}); err != nil {
		return e.fail(image, id, "stopping the initialised server failed", err, nil)
	}
	waited := e.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-waited.Result:
	case err := <-waited.Error:
		return e.fail(image, id, "waiting for the initialised server to stop failed", err, nil)
	case <-ctx.Done():
		return e.fail(image, id, "waiting for the initialised server to stop failed", ctx.Err(), nil)
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
		return e.fail(image, packID, "packing the initialised data directory failed", err, e.logTail(context.WithoutCancel(ctx), packID))
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
			"LABEL " + labelSecret + "=" + password,
			"LABEL " + labelRole + "=seed",
		},
	})
	if err != nil {
		return e.fail(image, id, "committing the initialised data directory as "+tag+" failed", err, nil)
	}
	e.removeOldSeeds(ctx, image, tag)
	return nil
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
		err = resp.Wait(pctx) // the error the pull's message stream ends with
		resp.Close()
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
