//go:build unix

package containers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/internal/faketb"
	"github.com/dbsuite/dbsuite/internal/golden"
)

func TestBudgetSlots(t *testing.T) {
	tests := []struct {
		name                     string
		maxConns, reserved, cpus int
		want                     int
	}{
		{"TestSettings, 2 cores", 300, 3, 2, 62},
		{"stock server, 8 cores", 100, 3, 8, 2},
		{"tiny server", 10, 3, 16, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, budgetSlots(tt.maxConns, tt.reserved, tt.cpus, connsPerBinary))
		})
	}
}

// TestBudgetMessages pins what a user reads when the server refuses a
// connection, and when no test slot frees up in time.
func TestBudgetMessages(t *testing.T) {
	refused := &pgconn.PgError{Severity: "FATAL", Code: "53300", Message: "sorry, too many clients already"}
	srv := &Server{budget: budget{slots: 12}}
	tests := []struct {
		name string
		err  error
	}{
		{"too_many_clients", tooManyClients(fmt.Errorf("failed to connect to `user=postgres database=dbsuite_t_1`: %w", refused))},
		{"budget_wait", srv.budgetError(30*time.Second, context.DeadlineExceeded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden.Check(t, "testdata/messages/"+tt.name+".golden", tt.err.Error()+"\n")
		})
	}
	var pgErr *pgconn.PgError
	assert.True(t, errors.As(tests[0].err, &pgErr), "the server's error stays in the chain")
	other := errors.New("connection reset")
	assert.Same(t, other, tooManyClients(other), "other errors pass through")
}

// TestReserveQueues: with every slot taken, by this process or by
// another one (a second budget on the same slot files), a hand-out waits
// until a test finishes; a test asking twice takes one slot.
func TestReserveQueues(t *testing.T) {
	dir := t.TempDir()
	newServer := func() *Server {
		s := &Server{}
		s.budget.once.Do(func() {})
		s.budget.slots = 2
		s.budget.local = make(chan struct{}, 2)
		s.budget.dir = dir
		s.budget.held = map[testing.TB]*heldSlot{}
		return s
	}
	tests := []struct {
		name   string
		holder *Server // takes the two slots
		waiter *Server // then asks for a third
	}{
		{"same process", newServer(), nil},
		{"another process", newServer(), newServer()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waiter := tt.waiter
			if waiter == nil {
				waiter = tt.holder
			}
			tb := func() testing.TB { return faketb.New(t, "") } // a distinct test per call
			first := tb()
			r1, err := tt.holder.reserve(first)
			require.NoError(t, err)
			again, err := tt.holder.reserve(first)
			require.NoError(t, err, "the same test asking again")
			r2, err := tt.holder.reserve(tb())
			require.NoError(t, err, "the second slot")
			got := make(chan func())
			go func() {
				r, err := waiter.reserve(tb())
				assert.NoError(t, err)
				got <- r
			}()
			select {
			case <-got:
				t.Fatal("a third test got a slot while two were held")
			case <-time.After(50 * time.Millisecond):
			}
			again() // the first test still holds its slot
			select {
			case <-got:
				t.Fatal("a third test got a slot while two were held")
			case <-time.After(50 * time.Millisecond):
			}
			r1()
			select {
			case r3 := <-got:
				r3()
			case <-time.After(10 * time.Second):
				t.Fatal("the waiting test got no slot after one was released")
			}
			r2()
		})
	}
}

// TestReserveGoesOver: a test that waits longer than budgetWait (a parent
// holding the last slot while its subtest asks for one) goes over the
// budget and says so, instead of waiting forever.
func TestReserveGoesOver(t *testing.T) {
	defer func(d time.Duration) { budgetWait = d }(budgetWait)
	budgetWait = 50 * time.Millisecond
	s := &Server{}
	s.budget.once.Do(func() {})
	s.budget.slots = 1
	s.budget.local = make(chan struct{}, 1)
	s.budget.dir = t.TempDir()
	s.budget.held = map[testing.TB]*heldSlot{}
	parent := faketb.New(t, "")
	release, err := s.reserve(parent)
	require.NoError(t, err)
	defer release()
	child := faketb.New(t, "")
	over, err := s.reserve(child)
	require.NoError(t, err)
	over()
	assert.Equal(t, []string{"containers: no test slot freed up in 50ms (the server's budget is 1 tests at once); going over it"}, child.Logs())
	assert.Empty(t, append(parent.Errors(), child.Errors()...))
}
