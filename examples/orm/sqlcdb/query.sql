-- name: ListBooks :many
SELECT id, author_id, title FROM books
ORDER BY id;

-- name: GetAuthor :one
SELECT id, name FROM authors
WHERE id = $1 LIMIT 1;

-- name: ListAuthorsByIDs :many
SELECT id, name FROM authors
WHERE id = ANY($1::bigint[]);
