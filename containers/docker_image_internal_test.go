//go:build unix

package containers

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// The Docker tests of both test packages (containers and containers_test)
// run in one test binary and share its servers, a failed start included:
// each of them, whichever runs first, must see the test image there.

// dockerTestImage is the image the Docker tests run: DBSUITE_POSTGRES_IMAGE,
// else the one scripts/build-postgres-image.sh builds (nothing can be
// pulled where this project is tested).
func dockerTestImage() string {
	if img := os.Getenv(EnvImage); img != "" {
		return img
	}
	return "dbsuite/postgres:15"
}

// requireDocker skips the test where no Docker engine answers, and fails
// it instead under CI=true: CI has an engine, and a Docker test that
// skips there hides a broken provider.
//
// Where an engine answers, the test image is there: when
// DBSUITE_POSTGRES_IMAGE is unset and dbsuite/postgres:15 is missing, the
// first Docker test builds it with scripts/build-postgres-image.sh (about a
// minute, once per machine), so that `go test ./...` runs the Docker tests
// on a fresh machine with an engine, as .ci/run does.
func requireDocker(t *testing.T) {
	t.Helper()
	err := dockerAvailable()
	if err == nil {
		ensureTestImage(t)
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the Docker provider cannot be used: %v", err)
	}
	t.Skipf("skipped: %v", err)
}

var (
	imageOnce sync.Once
	imageErr  error
)

// ensureTestImage builds the default test image if it is missing, under a
// file lock shared by the test binaries of the machine.
func ensureTestImage(t *testing.T) {
	t.Helper()
	if os.Getenv(EnvImage) != "" {
		return
	}
	imageOnce.Do(func() {
		img := dockerTestImage()
		if osexec.Command("docker", "image", "inspect", img).Run() == nil {
			return
		}
		lock := flock.New(filepath.Join(os.TempDir(), "dbsuite-test-image.lock"))
		if err := lock.Lock(); err != nil {
			imageErr = err
			return
		}
		defer lock.Unlock()
		// Another test binary may have built it while this one waited: a
		// second build would replace the image under that binary's tests.
		if osexec.Command("docker", "image", "inspect", img).Run() == nil {
			return
		}
		start := time.Now()
		out, err := osexec.Command("bash", filepath.Join("..", "scripts", "build-postgres-image.sh"), img).CombinedOutput()
		if err != nil {
			imageErr = fmt.Errorf("scripts/build-postgres-image.sh %s: %v\n%s", img, err, out)
			return
		}
		t.Logf("built the test image %s with scripts/build-postgres-image.sh in %v", img, time.Since(start).Round(time.Second))
	})
	if imageErr != nil {
		t.Fatalf("the Docker tests need the image %s, which could not be built: %v", dockerTestImage(), imageErr)
	}
}

// RequireDocker and DockerTestImage are requireDocker and
// dockerTestImage for the tests of containers_test.
var (
	RequireDocker   = requireDocker
	DockerTestImage = dockerTestImage
)
