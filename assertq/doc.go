// Package assertq makes a test fail when code makes more queries than it should, fetches row by row in a loop
// (N+1), repeats a query, or queries where it must not — and says where, and how to fix it.
//
// A [Recorder] sees every statement through a pgx tracer or a database/sql connector:
//
//	rec := assertq.New(t)
//	cfg, _ := pgxpool.ParseConfig(dsn)
//	cfg.ConnConfig.Tracer = rec.Tracer(cfg.ConnConfig.Tracer) // keeps a tracer already set
//	pool, _ := pgxpool.NewWithConfig(ctx, cfg)
//
//	db := sql.OpenDB(rec.Connector(connector))                // database/sql: pgx stdlib, lib/pq, go-sqlmock
//
// [Recorder.Queries] returns what ran, as data: SQL, arguments, a normalised fingerprint, kind, tables, the call
// site in the user's code and a key for the whole call stack, duration, rows and error. [Verify] checks queries
// and returns every violation as one error; [Expect] runs a block of code, checks its queries and reports through
// t.Errorf:
//
//	assertq.Expect(t, rec, func(ctx context.Context) {
//		shop.ListStores(ctx, pool)
//	}, assertq.AtMost(2), assertq.NoNPlusOne())
//
// which, when ListStores counts products store by store, fails with
//
//	assertq: 51 queries, want at most 2
//	   1× SELECT id, name FROM shop_store                           store.go:31 (shop.ListStores)
//	  50× SELECT count(*) FROM shop_product WHERE store_id = ?      store.go:38 (shop.ListStores)  <- N+1: same statement from one call site, 50 different arguments
//	      args: (1) (2) (3) … 47 more
//	fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
//	…
//	assertq: 2 of 2 checks failed: AtMost(2), NoNPlusOne()
//
// The checks are [Count] and [AtMost] (budgets, optionally per [Kind], [Table], [Matching] or [CalledFrom]),
// [NoQueries] (with [Allow] for the query a zone needs on purpose) and [NoNPlusOne]; [Ignore] leaves queries out.
// [Strict] makes every N+1 a Recorder sees fail the test; [Golden] pins a test's queries in a reviewed file.
//
// N+1 is two or more queries with the same fingerprint from the same call stack (every user frame, at the same
// lines) and different arguments; with the same arguments, it is a duplicate query. The same statement from two
// call sites, a batched "= ANY($1)" fetch, and a loop running two different statements once each are not.
//
// Queries are tied to a test and to an Expect block by their context, so parallel tests that share a pool
// ([SharedTracer], [Recorder.Context]) or a Recorder stay apart when their code passes the context along.
// assertq does not start databases; the containers package does.
package assertq
