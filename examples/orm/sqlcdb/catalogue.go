// Package sqlcdb is the catalogue through code sqlc generates (db.go, models.go, query.sql.go from query.sql,
// written here in sqlc's shape so the example needs no generator) over a pgx pool, and the user's code that
// calls it (this file): the lazy loop over GetAuthor, and the page loaded with ListAuthorsByIDs.
package sqlcdb

import (
	"context"

	"github.com/dbsuite/dbsuite/examples/orm"
)

// CatalogueLazy lists the books, then calls GetAuthor for each: one query per book.
func CatalogueLazy(ctx context.Context, q *Queries) ([]orm.Line, error) {
	books, err := q.ListBooks(ctx)
	if err != nil {
		return nil, err
	}
	lines := make([]orm.Line, 0, len(books))
	for _, b := range books {
		a, err := q.GetAuthor(ctx, b.AuthorID)
		if err != nil {
			return nil, err
		}
		lines = append(lines, orm.Line{Title: b.Title, Author: a.Name})
	}
	return lines, nil
}

// CatalogueByIDs lists the books, then their authors in one call.
func CatalogueByIDs(ctx context.Context, q *Queries) ([]orm.Line, error) {
	books, err := q.ListBooks(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(books))
	for i, b := range books {
		ids[i] = b.AuthorID
	}
	authors, err := q.ListAuthorsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	return orm.Join(books, authors,
		func(b Book) (string, int64) { return b.Title, b.AuthorID },
		func(a Author) (int64, string) { return a.ID, a.Name }), nil
}
