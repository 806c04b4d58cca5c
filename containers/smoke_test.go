package containers_test

import (
	"testing"

	"github.com/dbsuite/dbsuite/containers"
)

func TestSmoke(t *testing.T) {
	srv := containers.Postgres(t)
	db := srv.Database(t)
	pool := db.Pool(t)
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Log(db.Name(), db.DSN())
}
