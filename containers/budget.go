package containers

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// Connections are a budget
//
// A server's max_connections are shared by every test binary of the run,
// their warm pools, their admin and Tx pools, and the tests' own
// connections. So that 200 parallel tests do not meet "too many clients
// already", each database handed out by [Server.Database] reserves
// connsPerTest connections for its test, and the pools dbsuite opens for
// the test ([Database.Pool], [Database.SQL]) hold at most that many. The
// reservations of all the binaries on a server stay within its
// max_connections, less superuser_reserved_connections, less a tenth for
// room, less what each binary's own pools may hold: a test that would go
// over waits in Server.Database for one to finish. The reservations are
// flocks on slot files next to the server (slots_unix.go), so the kernel
// releases those of a killed binary.
const (
	connsPerTest   = 4  // a test's reservation; the most its Pool or SQL opens
	connsPerBinary = 10 // a binary's admin pool (2), its Tx pool and room: what its own pools may hold
)

// budgetWait bounds the wait for a slot: a test that holds one while its
// subtests ask for more must not wait forever. After it, the test goes
// over the budget, and the log says so.
var budgetWait = time.Minute

// budget hands out the test slots of one server.
type budget struct {
	once  sync.Once
	slots int           // 0: no budget (it could not be read)
	local chan struct{} // this process's share of the slots in use
	dir   string        // where the slot files are; "" for this process only

	mu   sync.Mutex
	held map[testing.TB]*heldSlot // a test that asks twice takes one slot
}

type heldSlot struct {
	uses    int
	release func()
}

// budgetSlots is how many tests may hold a database at once, for a server
// with these settings, where each binary's own pools hold perBinary.
func budgetSlots(maxConns, reserved, cpus, perBinary int) int {
	usable := maxConns - reserved
	room := max(2, usable/10)
	n := (usable - room - cpus*perBinary) / connsPerTest
	return max(1, n)
}

// reserve takes a test slot for tb, waiting while the server's budget is
// spent, and returns what releases it.
func (s *Server) reserve(tb testing.TB) (func(), error) {
	b := &s.budget
	b.once.Do(func() { s.initBudget(tb.Context()) })
	if b.slots == 0 {
		return func() {}, nil
	}
	b.mu.Lock()
	if h, ok := b.held[tb]; ok {
		h.uses++
		b.mu.Unlock()
		return func() { s.unreserve(tb) }, nil
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(tb.Context(), budgetWait)
	defer cancel()
	t0 := time.Now()
	over := func(err error) (func(), error) {
		if tb.Context().Err() != nil {
			return nil, s.budgetError(time.Since(t0), err)
		}
		tb.Logf("containers: no test slot freed up in %v (the server's budget is %d tests at once); going over it", budgetWait, b.slots)
		return func() {}, nil
	}
	select {
	case b.local <- struct{}{}:
	case <-ctx.Done():
		return over(ctx.Err())
	}
	unlock, err := acquireSlot(ctx, b.dir, b.slots)
	if err != nil {
		<-b.local
		return over(err)
	}
	b.mu.Lock()
	b.held[tb] = &heldSlot{uses: 1, release: func() { unlock(); <-b.local }}
	b.mu.Unlock()
	return func() { s.unreserve(tb) }, nil
}

func (s *Server) unreserve(tb testing.TB) {
	b := &s.budget
	b.mu.Lock()
	h := b.held[tb]
	h.uses--
	if h.uses > 0 {
		b.mu.Unlock()
		return
	}
	delete(b.held, tb)
	b.mu.Unlock()
	h.release()
}

// initBudget reads the server's connection limits and sizes the budget.
func (s *Server) initBudget(ctx context.Context) {
	b := &s.budget
	b.held = map[testing.TB]*heldSlot{}
	pool, err := s.adminPool(ctx)
	if err != nil {
		return
	}
	var maxConns, reserved int
	if err := pool.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int`).Scan(&maxConns, &reserved); err != nil {
		return
	}
	b.slots = budgetSlots(maxConns, reserved, runtime.NumCPU(), connsPerBinary)
	b.local = make(chan struct{}, b.slots)
	b.dir = s.slotDir()
}

func (s *Server) budgetError(waited time.Duration, err error) error {
	return &failure.Error{Pkg: "containers",
		Headline: fmt.Sprintf("no database handed out after waiting %v for one of the server's %d test slots, want a test to finish first", waited.Round(time.Millisecond), s.budget.slots),
		Details:  []string{err.Error()},
		Fixes:    []string{"run fewer tests at once (go test -parallel N, -p N), or raise max_connections (containers.WithSettings(containers.Settings{\"max_connections\": \"500\"}))"},
		Err:      err}
}

// tooManyClients explains a server's refusal of a connection (SQLSTATE
// 53300) in terms of what the user can change; other errors pass through.
func tooManyClients(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
		return err
	}
	return &failure.Error{Pkg: "containers",
		Headline: "the server refused a connection: too many clients (SQLSTATE 53300), want connections within its max_connections",
		Details:  []string{err.Error()},
		Fixes: []string{
			"let dbsuite budget the connections: open them with db.Pool(t) or db.SQL(t) (at most 4 per test, queued) rather than pgx.Connect(db.DSN()) in each test",
			"run fewer tests at once (go test -parallel N, -p N), and close the connections a test opens",
			"raise max_connections: containers.WithSettings(containers.Settings{\"max_connections\": \"500\"}), or on a server you run, ALTER SYSTEM SET max_connections = 500 and restart it",
		},
		Err: err}
}
