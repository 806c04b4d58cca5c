// Package library is the N+1 story: a catalogue page lists books with their
// authors. The lazy version fetches the books, then each book's author in a
// loop, one query per row — the pattern an ORM's lazy relation hides. The
// tests show assertq catching it on a real database, with the call site and
// the fix, and the two fixed versions passing.
//
// Run it with
//
//	go test -v ./examples/library/
package library

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/fixtures"
)

// Schema creates the tables.
const Schema = `
CREATE TABLE authors (
	id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL
);
CREATE TABLE books (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	author_id bigint NOT NULL REFERENCES authors (id),
	title     text NOT NULL,
	published date NOT NULL
);
CREATE INDEX books_author_id_idx ON books (author_id);
`

// Author is a row of authors.
type Author struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// Book is a row of books.
type Book struct {
	ID        int64     `db:"id"`
	AuthorID  int64     `db:"author_id"`
	Title     string    `db:"title"`
	Published time.Time `db:"published"`
}

// Authors and Books build rows; set Book.AuthorID.
var (
	Authors = fixtures.Define("authors", func(g *fixtures.Gen, a *Author) { a.Name = g.FullName() })
	Books   = fixtures.Define("books", func(g *fixtures.Gen, b *Book) {
		b.Title = g.Sentence()
		b.Published = g.Date(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	})
)

// Data is the catalogue: 40 authors with 5 books each (times the scale).
var Data = &fixtures.DataSet{Name: "library", Schema: Schema, Seed: 7, Build: func(s *fixtures.Set) {
	for range s.Scaled(40) {
		author := fixtures.Add(s, Authors)
		fixtures.AddN(s, Books, 5, func(b *Book, _ int) { b.AuthorID = author.ID })
	}
}}

// Line is one line of the catalogue page.
type Line struct {
	Title  string
	Author string
}

func (l Line) String() string { return fmt.Sprintf("%s, by %s", l.Title, l.Author) }

// CatalogueLazy builds the page the way a lazy relation does: the books,
// then each book's author. One query per book: an N+1.
func CatalogueLazy(ctx context.Context, db *pgxpool.Pool) ([]Line, error) {
	rows, _ := db.Query(ctx, "SELECT id, author_id, title, published FROM books ORDER BY id")
	books, err := pgx.CollectRows(rows, pgx.RowToStructByName[Book])
	if err != nil {
		return nil, err
	}
	lines := make([]Line, 0, len(books))
	for _, b := range books {
		var name string
		if err := db.QueryRow(ctx, "SELECT name FROM authors WHERE id = $1", b.AuthorID).Scan(&name); err != nil {
			return nil, err
		}
		lines = append(lines, Line{Title: b.Title, Author: name})
	}
	return lines, nil
}

// CatalogueJoin builds the page in one query.
func CatalogueJoin(ctx context.Context, db *pgxpool.Pool) ([]Line, error) {
	rows, _ := db.Query(ctx, `SELECT b.title, a.name FROM books b JOIN authors a ON a.id = b.author_id ORDER BY b.id`)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Line])
}

// CataloguePreload builds the page the way an ORM's preload does: the
// books, then all their authors in one batched query (= ANY($1)).
func CataloguePreload(ctx context.Context, db *pgxpool.Pool) ([]Line, error) {
	rows, _ := db.Query(ctx, "SELECT id, author_id, title, published FROM books ORDER BY id")
	books, err := pgx.CollectRows(rows, pgx.RowToStructByName[Book])
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(books))
	for i, b := range books {
		ids[i] = b.AuthorID
	}
	rows, _ = db.Query(ctx, "SELECT id, name FROM authors WHERE id = ANY($1)", ids)
	authors, err := pgx.CollectRows(rows, pgx.RowToStructByName[Author])
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(authors))
	for _, a := range authors {
		names[a.ID] = a.Name
	}
	lines := make([]Line, len(books))
	for i, b := range books {
		lines[i] = Line{Title: b.Title, Author: names[b.AuthorID]}
	}
	return lines, nil
}
