//go:build unix

package containers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// binaries is an installation of the PostgreSQL server programs.
type binaries struct {
	dir     string
	version string // "15.18"
	major   int
}

var (
	binCacheMu sync.Mutex
	binCache   = map[string]binaries{}
)

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)?`)

// findBinaries locates initdb and postgres: in dir when given, else next
// to the initdb on PATH (or where that initdb links to), else from
// pg_config --bindir, else the newest /usr/lib/postgresql/*/bin (the
// Debian and Ubuntu layout). Candidates are tried in that order and the
// first that works is taken, so pg_config runs only when PATH does not
// lead to the server.
func findBinaries(dir string) (binaries, error) {
	binCacheMu.Lock()
	defer binCacheMu.Unlock()
	if b, ok := binCache[dir]; ok {
		return b, nil
	}
	var problems []string
	tried := map[string]bool{}
	try := func(d string) (binaries, bool) {
		if d == "" || tried[d] {
			return binaries{}, false
		}
		tried[d] = true
		b, err := inspectBinaries(d)
		if err != nil {
			problems = append(problems, err.Error())
			return binaries{}, false
		}
		binCache[dir] = b
		return b, true
	}
	if dir != "" {
		if b, ok := try(dir); ok {
			return b, nil
		}
		return binaries{}, errors.New(strings.Join(problems, "; "))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if b, ok := try(filepath.Dir(p)); ok {
			return b, nil
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if b, ok := try(filepath.Dir(real)); ok {
				return b, nil
			}
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if b, ok := try(strings.TrimSpace(string(out))); ok {
			return b, nil
		}
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(globbed, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, d := range globbed {
		if b, ok := try(d); ok {
			return b, nil
		}
	}
	if len(problems) == 0 {
		return binaries{}, errors.New("no initdb on PATH, no pg_config, nothing under /usr/lib/postgresql/*/bin (install the server: apt-get install postgresql)")
	}
	return binaries{}, errors.New(strings.Join(problems, "; "))
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func inspectBinaries(dir string) (binaries, error) {
	for _, prog := range []string{"initdb", "postgres"} {
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			return binaries{}, fmt.Errorf("%s: no executable %s", dir, prog)
		}
	}
	if b, ok := recalledVersion(dir); ok {
		return b, nil
	}
	out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").CombinedOutput()
	if err != nil {
		return binaries{}, fmt.Errorf("%s/postgres --version: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return binaries{}, fmt.Errorf("%s/postgres --version printed %q: no version found", dir, bytes.TrimSpace(out))
	}
	major, _ := strconv.Atoi(string(m[1]))
	b := binaries{dir: dir, version: string(m[1]) + string(m[2]), major: major}
	rememberVersion(b)
	return b, nil
}
