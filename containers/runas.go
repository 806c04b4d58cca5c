//go:build unix

package containers

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// identity is the operating-system user the server runs as.
type identity struct {
	uid, gid int
	name     string
	cred     *syscall.Credential // nil: run as ourselves
}

// serverIdentity returns who runs the server: ourselves, or an
// unprivileged user when we are root, since PostgreSQL refuses root.
func serverIdentity(runAs string) (identity, error) {
	if os.Geteuid() != 0 {
		return identity{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	candidates := []string{"postgres", "nobody"}
	if runAs != "" {
		candidates = []string{runAs}
	}
	var tried []string
	for _, name := range candidates {
		u, err := user.Lookup(name)
		if err != nil {
			tried = append(tried, name+" (no such user)")
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			tried = append(tried, name+" (uid 0)")
			continue
		}
		return identity{uid: uid, gid: gid, name: name,
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}, nil
	}
	return identity{}, fail(nil, "local: the tests run as root and PostgreSQL refuses to run as root, want an unprivileged user to run it as",
		[]string{"tried " + strings.Join(tried, ", ")},
		"create one (useradd --system --no-create-home postgres), or name one with "+EnvRunAs+"=<user> or containers.WithRunAs")
}
