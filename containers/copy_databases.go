//go:build unix

package containers

import (
	"os"
	"path/filepath"
	"strings"
)

// How a server starts while its databases are copied
//
// Copying the cached data directory is the larger half of a local
// server's start: most of its bytes are the databases (template0,
// template1, postgres: base/<oid>). PostgreSQL reads none of a database's
// files until a connection to it, or a dirty buffer of it, needs them: at
// start the postmaster only lists each database's directory for
// temporary files to remove, and the startup process removes their
// relation cache init files, by name. So copyDataDir copies everything
// else first, and returns the copy of the databases, which launch runs
// while postgres starts and waits for before the first connection. Each
// database is copied beside the data directory and renamed into base/
// when whole, so that nothing ever sees one half copied: a connection
// made too early would find no directory, not half of one.

// copyDataDir copies the data directory src to dst, but for the
// databases' directories, and returns what copies those: each into
// stage, then renamed into dst/base.
func copyDataDir(src, dst, stage string, id *identity) (databases func() error, err error) {
	var oids []string // the databases' directories, left for later by the walk
	isDatabase := func(rel string) bool {
		dir, name := filepath.Split(rel)
		if dir != "base"+string(filepath.Separator) || name == "" || strings.Trim(name, "0123456789") != "" {
			return false
		}
		oids = append(oids, name)
		return true
	}
	if err := copyTreeSkip(src, dst, id, isDatabase); err != nil {
		return nil, err
	}
	return func() error {
		if err := os.Mkdir(stage, 0o700); err != nil {
			return err
		}
		for _, oid := range oids {
			if err := copyTree(filepath.Join(src, "base", oid), filepath.Join(stage, oid), id); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(stage, oid), filepath.Join(dst, "base", oid)); err != nil {
				return err
			}
		}
		return os.Remove(stage)
	}, nil
}
