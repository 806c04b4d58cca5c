module github.com/dbsuite/dbsuite/examples/bench

go 1.26.0

require (
	github.com/dbsuite/dbsuite v0.0.0
	github.com/jackc/pgx/v5 v5.12.0
)

require (
	github.com/DataDog/go-sqllexer v0.2.6 // indirect
	github.com/ngrok/sqlmw v0.0.0-20220520173518-97c9c04efc79
)

require (
	github.com/go-testfixtures/testfixtures/v3 v3.19.0
	github.com/goccy/go-yaml v1.18.0 // indirect
)

require (
	github.com/gofrs/flock v0.13.2 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/peterldowns/pgtestdb v0.1.1
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace github.com/dbsuite/dbsuite => ../..
