package gormlib

import (
	"context"
	"testing"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/orm/internal/ormtest"
)

// TestDataSetOfGORMModels: a clone of the data set that fixtures built from the GORM models (schema by
// AutoMigrate) holds the catalogue, and the lazy loop on it is caught as on the hand-written schema.
func TestDataSetOfGORMModels(t *testing.T) {
	rec := assertq.New(t)
	sqlDB := containers.Postgres(t).Database(t, containers.WithTemplate(Data)).SQL(t, containers.WithConnector(rec.Connector))
	db, err := Open(sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	var lines int
	lazy := func(ctx context.Context) error {
		page, err := CatalogueLazy(ctx, db)
		lines = len(page)
		return err
	}
	ormtest.Caught(t, rec, lazy,
		"N+1: 200 queries of one statement from one call site with 40 different arguments",
		`.Preload("Author")`)
	if lines != 200 {
		t.Errorf("the page has %d lines, want 200", lines)
	}
	var zero int64
	if err := db.Model(&Book{}).Where("created_at < ?", "1971-01-01").Count(&zero).Error; err != nil {
		t.Fatal(err)
	}
	if zero != 0 {
		t.Errorf("%d books have a year-1 created_at, want a deterministic time", zero)
	}
}
