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

// findBinaries locates initdb and postgres: in dir when given, else on
// PATH, else from pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin (the Debian and Ubuntu layout).
func findBinaries(dir string) (binaries, error) {
	binCacheMu.Lock()
	defer binCacheMu.Unlock()
	if b, ok := binCache[dir]; ok {
		return b, nil
	}
	var candidates []string
	if dir != "" {
		candidates = []string{dir}
	} else {
		if p, err := exec.LookPath("initdb"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
		globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		slices.SortFunc(globbed, func(a, b string) int { return majorOf(b) - majorOf(a) })
		candidates = append(candidates, globbed...)
	}
	var problems []string
	for _, d := range candidates {
		b, err := inspectBinaries(d)
		if err == nil {
			binCache[dir] = b
			return b, nil
		}
		problems = append(problems, err.Error())
	}
	if dir == "" && len(problems) == 0 {
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
	out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").CombinedOutput()
	if err != nil {
		return binaries{}, fmt.Errorf("%s/postgres --version: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return binaries{}, fmt.Errorf("%s/postgres --version printed %q: no version found", dir, bytes.TrimSpace(out))
	}
	major, _ := strconv.Atoi(string(m[1]))
	return binaries{dir: dir, version: string(m[1]) + string(m[2]), major: major}, nil
}
