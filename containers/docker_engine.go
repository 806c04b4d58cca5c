//go:build unix

// The Docker engine connection and container operations: create, remove, logs, labels, and the sweep of containers left by dead owners.

package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

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
	labelSecret  = "io.dbsuite.password"
)

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
	_, _ = stdcopy.StdCopy(&b, &b, rc) // a non-TTY container's log is framed per stream
	return b.Bytes()
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

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
