//go:build unix

// Sharing a Docker container across the test binaries of a run: join or launch, the state file, and the supervisor that removes it.

package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

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
	lock := filepath.Join(root, "docker-"+key+".lock")
	release, err := lockFile(ctx, lock)
	if err != nil {
		return nil, fmt.Errorf("containers: docker: waiting for %s: %v", lock, err)
	}
	defer release()
	if st, ok := readState[dockerState](statePath); ok && st.RunDir != "" {
		if ds := e.join(ctx, st, seed); ds != nil {
			return ds, nil
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
	ds := &dockerServer{eng: e, id: st.Container, host: st.Host, port: st.Port,
		password: seed.password, runDir: st.RunDir, alive: alive}
	if ds.conn = connectOnce(ctx, ds.dsn("postgres")); ds.conn == nil {
		alive.Close()
		return nil
	}
	ds.how = "joined container " + shortID(ds.id) + " (" + seed.image + ") that another test binary started"
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
	ds := &dockerServer{eng: e, id: id, password: seed.password, runDir: runDir, alive: alive}
	if err != nil {
		if id != "" {
			e.remove(context.WithoutCancel(ctx), id)
		}
		return fail(e.fail(seed.image, id, "starting the container failed", err, nil))
	}
	started := time.Since(t0)
	if ds.host, ds.port, err = e.endpoint(ctx, id); err == nil {
		// The first connection that answers goes to template1, which
		// writes its relation cache init file (relcache.go); it also
		// checks the settings, and is the probe's.
		if ds.conn, err = e.waitReady(ctx, id, ds.dsn("template1"), c.startTimeout); err == nil {
			ds.settingsErr = verifySettingsOn(ctx, ds.conn, c.settings)
		}
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
		shortID(ds.id), seed.image, seedHow, started.Round(time.Millisecond), (time.Since(t0) - started).Round(time.Millisecond))
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
		` + shRunning + `
		if [ "$session" != 0 ] && running "$session" && [ -d "$run" ]; then
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
