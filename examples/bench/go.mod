module github.com/dbsuite/dbsuite/examples/bench

go 1.25.0

require github.com/dbsuite/dbsuite v0.0.0

replace github.com/dbsuite/dbsuite => ../..
