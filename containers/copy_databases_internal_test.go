//go:build unix

package containers

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// TestServerStartsBeforeItsDatabasesAreCopied checks what launch relies
// on (copy_databases.go): postgres starts on a copy of the cached data
// directory whose databases are not there yet, and once they are renamed
// in, they answer, and the copy is the cached directory file for file.
func TestServerStartsBeforeItsDatabasesAreCopied(t *testing.T) {
	t.Parallel()
	_, bins, id, cached := cachedForTest(t)
	ctx := context.Background()
	dir := runDirForTest(t, id)
	src, data := filepath.Join(cached.dir, "data"), filepath.Join(dir, "data")
	databases, err := copyDataDir(src, data, filepath.Join(dir, "databases.copy"), &id)
	if err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(filepath.Join(data, "base")); err != nil || len(left) != 0 {
		t.Fatalf("base/ before the databases' copy: %v, %v; want it empty", left, err)
	}

	ls, err := launchIn(ctx, bins, id, dir, data, false, cached.password)
	if err != nil {
		t.Fatalf("postgres without its databases' directories: %v", err)
	}
	t.Cleanup(func() { _ = ls.stopProcess() })
	if err := databases(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "databases.copy")); !os.IsNotExist(err) {
		t.Errorf("the staging directory after the copy: %v, want it gone", err)
	}
	for _, db := range []string{"template1", "postgres"} {
		conn, err := connect(ctx, ls.dsn(db))
		if err != nil {
			t.Fatalf("connect to %s after its copy: %v", db, err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_class").Scan(&n); err != nil || n < 100 {
			t.Errorf("%s: pg_class has %d rows (%v), want its catalogs", db, n, err)
		}
		conn.Close(ctx)
	}
	if err := ls.stopProcess(); err != nil {
		t.Fatal(err)
	}

	// File for file: the databases are the cached ones (the server's
	// queries and shutdown may have rewritten pages, not added files; the
	// relation cache init files are the server's to remove and write).
	if got, want := databaseFiles(t, data), databaseFiles(t, src); !maps.Equal(got, want) {
		t.Errorf("the databases' files and sizes: %d files, want the cached %d: got %v, want %v", len(got), len(want), got, want)
	}
}

// databaseFiles returns the size of each file under dir/base by its path.
func databaseFiles(t *testing.T, dir string) map[string]int64 {
	files := map[string]int64{}
	err := filepath.WalkDir(filepath.Join(dir, "base"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "pg_internal.init" {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
