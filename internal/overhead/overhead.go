// Package overhead measures what a query instrumentation costs per query, side by side with the bare driver on
// one connection: each variant (bare, or a wrapper around that same connection) runs in turn, so all see the same
// server backend, the same moment and the same core. On a shared, noisy machine this is what makes a few percent
// measurable. It is for benchmarks only.
package overhead

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Switch selects which variant the next query goes through: 0 is bare.
type Switch struct{ cur int }

// Compare runs query through each of names' variants in turn (rotating which goes first), b.N rounds, and reports
// each variant's mean time per query, and for each variant after the first (bare) its overhead in percent: the
// median over chunks of 100 rounds (robust to bursts of noise) and over the whole run.
func Compare(b *testing.B, sw *Switch, names []string, query func()) {
	for i := range names {
		sw.cur = i
		query() // connect, prepare and warm each variant outside the timing
	}
	const chunk = 100
	total := make([]time.Duration, len(names))
	part := make([]time.Duration, len(names))
	medians := make([][]float64, len(names))
	round := 0
	for b.Loop() {
		for k := range names {
			v := (round + k) % len(names)
			sw.cur = v
			t0 := time.Now()
			query()
			d := time.Since(t0)
			total[v] += d
			part[v] += d
		}
		round++
		if round%chunk == 0 {
			for v := 1; v < len(names); v++ {
				medians[v] = append(medians[v], 100*float64(part[v]-part[0])/float64(part[0]))
			}
			clear(part)
		}
	}
	for v, name := range names {
		b.ReportMetric(float64(total[v].Nanoseconds())/float64(round), name+"-ns/query")
		if v == 0 {
			continue
		}
		b.ReportMetric(100*float64(total[v]-total[0])/float64(total[0]), name+"-overhead-%")
		if m := medians[v]; len(m) > 0 {
			slices.Sort(m)
			b.ReportMetric(m[len(m)/2], name+"-median-overhead-%")
		}
	}
}

// Tracer is a pgx tracer that passes calls to the tracer of the selected variant (nil, or none, for bare).
// Variants change only between queries.
type Tracer struct {
	sw       *Switch
	variants []pgx.QueryTracer // index 0 unused: bare
}

// NewTracer returns a Tracer for variants 1..len(tracers).
func NewTracer(sw *Switch, tracers ...pgx.QueryTracer) *Tracer {
	return &Tracer{sw: sw, variants: append([]pgx.QueryTracer{nil}, tracers...)}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *Tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if v := t.variants[t.sw.cur]; v != nil {
		return v.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *Tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if v := t.variants[t.sw.cur]; v != nil {
		v.TraceQueryEnd(ctx, conn, data)
	}
}

// Wrap makes a variant of a database/sql connection: it returns the instrumented connection around raw. d is the
// driver raw came from.
type Wrap func(raw driver.Conn, d driver.Driver) (driver.Conn, error)

// Connector hands database/sql connections whose calls go to the raw connection or to one of its wrapped
// variants, as the Switch says. Only what SELECT-style benchmarks use is supported.
type Connector struct {
	sw    *Switch
	raw   driver.Connector
	wraps []Wrap
}

// NewConnector returns a Connector for variants 1..len(wraps) around connections of raw.
func NewConnector(sw *Switch, raw driver.Connector, wraps ...Wrap) *Connector {
	return &Connector{sw: sw, raw: raw, wraps: wraps}
}

// Connect implements driver.Connector.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	raw, err := c.raw.Connect(ctx)
	if err != nil {
		return nil, err
	}
	conns := []driver.Conn{raw}
	for i, w := range c.wraps {
		wc, err := w(raw, c.raw.Driver())
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("variant %d: %w", i+1, err)
		}
		conns = append(conns, wc)
	}
	return &conn{sw: c.sw, conns: conns}, nil
}

// Driver implements driver.Connector.
func (c *Connector) Driver() driver.Driver { return c.raw.Driver() }

type conn struct {
	sw    *Switch
	conns []driver.Conn
}

func (c *conn) cur() driver.Conn { return c.conns[c.sw.cur] }

func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.cur().Prepare(query) }
func (c *conn) Close() error                              { return c.conns[0].Close() }
func (c *conn) Begin() (driver.Tx, error)                 { return nil, errors.New("overhead: no transactions") }

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.cur().(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	return q.QueryContext(ctx, query, args)
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.conns[0].(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.conns[0].(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// Fixed is a connector and a driver that always hand out the same connection: what a wrapper needs to wrap a
// connection that is already open.
type Fixed struct {
	Conn driver.Conn
}

// Connect implements driver.Connector.
func (f Fixed) Connect(context.Context) (driver.Conn, error) { return f.Conn, nil }

// Driver implements driver.Connector by returning f itself, a driver.Driver.
func (f Fixed) Driver() driver.Driver { return f }

// Open implements driver.Driver.
func (f Fixed) Open(string) (driver.Conn, error) { return f.Conn, nil }
