package orm_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/examples/orm/bunlib"
	"github.com/dbsuite/dbsuite/examples/orm/gormlib"
	"github.com/dbsuite/dbsuite/examples/orm/internal/ormtest"
)

// BenchmarkORMOverhead measures what the recorder costs per query through GORM and through bun: a lookup by
// primary key, on one connection, run bare and recorded in turn (the recorder's database/sql connector switched
// on and off between queries around the same driver connection), so both see the same server backend, moment
// and core. It reports both times and the overhead in percent: the median over chunks of 100 rounds, and over the
// whole run.
//
//	cd examples/orm && go test -run '^$' -bench ORMOverhead -benchtime 20000x
func BenchmarkORMOverhead(b *testing.B) {
	db := ormtest.Catalogue(b)
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// open returns a database/sql handle on one connection that is recorded while *on is true.
	open := func(b *testing.B, on *bool) *sql.DB {
		sdb := sql.OpenDB(&switchConnector{raw: stdlib.GetConnector(*cfg), rec: assertq.New(b), on: on})
		sdb.SetMaxOpenConns(1)
		b.Cleanup(func() { sdb.Close() })
		return sdb
	}
	b.Run("gorm", func(b *testing.B) {
		var on bool
		gdb, err := gormlib.Open(open(b, &on))
		if err != nil {
			b.Fatal(err)
		}
		id := 0
		compare(b, &on, func() {
			var a gormlib.Author
			id = id%20 + 1
			if err := gdb.WithContext(ctx).First(&a, id).Error; err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("bun", func(b *testing.B) {
		var on bool
		bdb := bunlib.Open(open(b, &on))
		id := 0
		compare(b, &on, func() {
			a := new(bunlib.Author)
			id = id%20 + 1
			if err := bdb.NewSelect().Model(a).Where("a.id = ?", id).Scan(ctx); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// compare runs query bare (*on false) and recorded (*on true) in turn, alternating which goes first, and reports
// the mean time per query of each and the recorder's overhead in percent.
func compare(b *testing.B, on *bool, query func()) {
	for _, v := range []bool{false, true} {
		*on = v
		query() // connect, prepare and warm both outside the timing
	}
	const chunk = 100
	var total, part [2]time.Duration
	var medians []float64
	rounds := 0
	for b.Loop() {
		for k := range 2 {
			v := (rounds + k) % 2
			*on = v == 1
			t0 := time.Now()
			query()
			d := time.Since(t0)
			total[v] += d
			part[v] += d
		}
		rounds++
		if rounds%chunk == 0 {
			medians = append(medians, 100*float64(part[1]-part[0])/float64(part[0]))
			part = [2]time.Duration{}
		}
	}
	b.ReportMetric(float64(total[0].Nanoseconds())/float64(rounds), "bare-ns/query")
	b.ReportMetric(float64(total[1].Nanoseconds())/float64(rounds), "recorded-ns/query")
	b.ReportMetric(100*float64(total[1]-total[0])/float64(total[0]), "overhead-%")
	if len(medians) > 0 {
		slices.Sort(medians)
		b.ReportMetric(medians[len(medians)/2], "median-overhead-%")
	}
}

// switchConnector hands out connections whose calls go to the driver's connection itself, or, while *on, to the
// recorder's wrapper around that same connection.
type switchConnector struct {
	raw driver.Connector
	rec *assertq.Recorder
	on  *bool
}

func (c *switchConnector) Connect(ctx context.Context) (driver.Conn, error) {
	raw, err := c.raw.Connect(ctx)
	if err != nil {
		return nil, err
	}
	recorded, err := c.rec.Connector(fixed{raw}).Connect(ctx)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return &switchConn{raw: raw, recorded: recorded, on: c.on}, nil
}

func (c *switchConnector) Driver() driver.Driver { return c.raw.Driver() }

// fixed is a connector and driver that hand out one connection already open.
type fixed struct{ conn driver.Conn }

func (f fixed) Connect(context.Context) (driver.Conn, error) { return f.conn, nil }
func (f fixed) Driver() driver.Driver                        { return f }
func (f fixed) Open(string) (driver.Conn, error)             { return f.conn, nil }

// switchConn is a connection that passes each call to the raw or the recorded variant of one connection; it
// supports what the ORMs' lookups use.
type switchConn struct {
	raw, recorded driver.Conn
	on            *bool
}

func (c *switchConn) cur() driver.Conn {
	if *c.on {
		return c.recorded
	}
	return c.raw
}

func (c *switchConn) Prepare(query string) (driver.Stmt, error) { return c.cur().Prepare(query) }
func (c *switchConn) Close() error                              { return c.raw.Close() }
func (c *switchConn) Begin() (driver.Tx, error) {
	return nil, errors.New("no transactions in this benchmark")
}

func (c *switchConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.cur().(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *switchConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.cur().(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *switchConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.raw.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *switchConn) ResetSession(ctx context.Context) error {
	return c.raw.(driver.SessionResetter).ResetSession(ctx)
}
