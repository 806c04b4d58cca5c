// Package assertq makes a test fail when code makes more queries than it should, fetches or writes row by row in a
// loop (N+1), repeats a query, or queries where it must not — and says where, and how to fix it.
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
// Wire one or the other on a connection, not both: a statement run through rec.Connector over a pgx connection
// whose tracer is rec's too reaches the Recorder twice, and is recorded once (the connector's record).
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
//	   1× SELECT id, name FROM shop_store                       store.go:31 (shop.ListStores)
//	  50× SELECT count(*) FROM shop_product WHERE store_id = ?  store.go:38 (shop.ListStores)  <- N+1: same statement from one call site, 50 different arguments
//	      args: (1) (2) (3) … 47 more
//	      called from: stores.go:12 (api.Stores)
//	fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
//	assertq: N+1: 50 queries of one statement from one call site with 50 different arguments, want 1 (listed above)
//	assertq: 2 of 2 checks failed: AtMost(2), NoNPlusOne()
//
// The checks are [Count] and [AtMost] (budgets, optionally per [Kind], [Table], [Matching] or [CalledFrom]),
// [NoQueries] (with [Allow] for the query a zone needs on purpose) and [NoNPlusOne]; [Ignore] leaves queries out.
// [Strict] makes every finding a Recorder sees fail the test; [Golden] pins a test's queries in a reviewed file.
//
// # Findings, and the line between a loop and a batch
//
// A finding is two or more queries with the same fingerprint from the same call stack (every user frame, at the
// same lines; a recursive function counts once, so the levels of a recursive walk are one call stack), within
// one Expect block, each working on one row:
//
//   - an N+1: reads with different arguments (or different values written into the SQL);
//   - row-by-row writes: INSERT, UPDATE or DELETE, with different arguments or the same ones (six identical
//     INSERTs add six rows: they are writes, not a duplicate);
//   - a duplicate query: reads with the same arguments.
//
// A repeated statement that works on sets is a batched loop, which is the fix, not the finding. One execution
// works on a set when its SQL holds a list of two or more elements (IN ($1, $2), VALUES (...), (...),
// ARRAY[1, 2]); when an argument is a list of two or more elements (= ANY($1), unnest($1::int[])); when it is a
// write that affected two or more rows (a multi-row INSERT, CopyFrom, an UPDATE of a store's products); or when it
// is a read of a page: LIMIT n (or FETCH FIRST n ROWS) with n > 1, OFFSET or a range comparison (WHERE id > $1),
// and two or more rows returned — as long as the loop keeps its equality filters (store_id = $1): pages that each
// serve another parent are an N+1. A repeated statement is a batched loop when at least one execution worked on a
// set and at most two did not (the last chunk, a short or empty last page). So these are not findings:
//
//   - keyset or offset pagination (WHERE id > $1 ORDER BY id LIMIT 100; LIMIT $1 OFFSET $2; GORM's FindInBatches),
//     and a cursor read page by page (FETCH 100 FROM c);
//   - chunked fetches, = ANY($1) or IN (...) over several ids per execution;
//   - multi-row writes repeated per batch: INSERT ... VALUES (...), (...), unnest, CopyFrom, GORM's
//     CreateInBatches, and writes queued in one pgx.Batch;
//   - the same statement from two call sites, two different statements once each from one loop, a loop of one
//     iteration, one JOIN;
//   - catalog reads: queries on information_schema or pg_catalog (an ORM's AutoMigrate asking about each table,
//     current_database()). They are schema introspection, not the application's data access: never an N+1, but
//     counted by budgets and listed in Queries, so Count and Golden still see them.
//
// And these are findings, though they look close: a loop that fetches one row per execution through LIMIT 1 (the
// first product of each store, or keyset "pages" of one row); the newest few products of each store (LIMIT 2
// and a range, but a page per parent); a loop of = ANY($1) or IN ($1) with one element
// each; a loop that reads each parent's children (SELECT ... WHERE store_id = $1), however many rows each returns,
// since each execution still serves one parent; lookups queued one per row in a pgx.Batch. How many batches a loop
// runs as the data grows is not this check's business.
//
// A finding's message names its call site (the innermost frame of your code, a repository method say) and up to
// two frames that called it, where the loop usually is. Findings are grouped per Expect block: a table-driven test with one Expect per case, from one call site, is not
// an N+1 across its cases; a loop inside one block (or around nested blocks) is. Outside blocks, Strict groups
// what one Recorder saw: give each subtest its own Recorder, or wrap its code in Expect.
//
// # Which test a query belongs to
//
// Queries are tied to a test and to an Expect block by their context, so parallel tests that share a pool
// ([SharedTracer], [SharedConnector], [Recorder.Context]) or a Recorder stay apart when their code passes the
// context along. Code that drops the context (context.Background(), a global *gorm.DB without WithContext) runs
// queries that carry no block: such a query belongs to the Expect block that was open while it ran if there was
// exactly one (the failure then says how many queries were tied by time); when several were open, it belongs to
// none, and every block open then says in its failure how many queries could not be attributed and how to pass
// the context — failing if that leaves it with no query of its own, never passing on "0 queries" without a word.
// Through a shared tracer or connector, a query with no context and no block open goes to the Recorder of the
// only test alive (Strict's failure says how many came that way); with several alive, to none, and Strict says so.
//
// assertq does not start databases; the containers package does.
package assertq
