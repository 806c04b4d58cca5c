package deps
import (
 _ "github.com/jackc/pgx/v5"
 _ "github.com/jackc/pgx/v5/pgxpool"
 _ "github.com/jackc/pgx/v5/stdlib"
 _ "github.com/stretchr/testify/require"
 _ "github.com/DATA-DOG/go-sqlmock"
 _ "github.com/DataDog/go-sqllexer"
)
