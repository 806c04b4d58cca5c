package containers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// How a test's database is dropped
//
// Not in the test's time: [Server.Database]'s cleanup hands the name to a
// dropper, which drops it in the background, a few at a time (dropWorkers),
// after the test has returned. A queue that is full (dropQueue names
// waiting) makes the cleanup drop in the foreground instead, so a server
// never holds more than that many finished tests' databases.
//
// Not in 100 ms steps: DROP DATABASE refuses to run while a backend is
// attached to the database and waits for them in 100 ms steps, and the
// test's connection, closed by a cleanup just before ours, is usually
// still exiting. dropIdle first waits for those backends in 1 ms steps
// (pg_stat_activity), terminates any the test leaked, and only then drops.
//
// What is left when the process exits: databases still queued are dropped
// with the server (a local server), by the reaper of this process (a
// server dbsuite does not own: every test database is registered with it),
// or by the next test binary's sweep, which drops the databases of dead
// binaries through the same queue, so that its first test does not wait
// for them either.
const (
	dropWorkers = 2
	dropQueue   = 32
	// dropGrace is how long the test's own backends get to exit before
	// they are terminated.
	dropGrace = 50 * time.Millisecond
)

// dropper drops finished tests' databases in the background.
type dropper struct {
	once  sync.Once
	queue chan dropJob
	stop  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	failed []error // background drops that failed, reported by the next hand-out
}

// dropJob is a database to drop; swept is true for a dead binary's,
// whose drop failing is no test's failure.
type dropJob struct {
	name  string
	swept bool
}

// dropLater drops the database after the test: in the background when
// the queue has room, else now.
func (s *Server) dropLater(name string) error {
	return s.queueDrop(dropJob{name: name})
}

func (s *Server) queueDrop(job dropJob) error {
	d := &s.drops
	d.once.Do(func() {
		d.queue = make(chan dropJob, dropQueue)
		d.stop = make(chan struct{})
		for range dropWorkers {
			d.wg.Add(1)
			go s.dropWorker()
		}
	})
	select {
	case d.queue <- job:
		return nil
	default:
		return s.dropIdle(context.Background(), job.name)
	}
}

func (s *Server) dropWorker() {
	d := &s.drops
	defer d.wg.Done()
	for {
		select {
		case <-d.stop:
			return
		case job := <-d.queue:
			if err := s.dropIdle(context.Background(), job.name); err != nil && !job.swept {
				d.mu.Lock()
				d.failed = append(d.failed, err)
				d.mu.Unlock()
			}
		}
	}
}

// dropFailures returns, once, the errors of background drops since the
// last call.
func (s *Server) dropFailures() []error {
	d := &s.drops
	d.mu.Lock()
	defer d.mu.Unlock()
	errs := d.failed
	d.failed = nil
	return errs
}

// stopDrops stops the background dropper of a server about to stop,
// after the drops in flight; the queued ones go with the server.
func (s *Server) stopDrops() {
	d := &s.drops
	d.once.Do(func() {}) // no dropper may start from now on
	if d.stop == nil {
		return
	}
	close(d.stop)
	d.wg.Wait()
}

// dropIdle waits in short steps for the backends still attached to the
// database (a test's connections closing), terminates those that stay
// (connections the test leaked), and drops it.
func (s *Server) dropIdle(ctx context.Context, name string) error {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t0 := time.Now()
	terminated := false
	for {
		// The count pg_stat_activity would give, without planning the
		// view's joins at every step (most of this loop's cost).
		var n int
		err := pool.QueryRow(ctx, "SELECT pg_stat_get_db_numbackends(oid) FROM pg_database WHERE datname = $1", name).Scan(&n)
		if err != nil || n == 0 {
			break
		}
		if !terminated && time.Since(t0) > dropGrace {
			terminated = true
			_, _ = pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
		}
		if time.Since(t0) > 2*time.Second {
			break // let DROP ... WITH (FORCE) deal with it
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.dropDatabase(ctx, name); err != nil {
		return err
	}
	s.droppedBeforeExit(name) // this binary's own: its reaper sends no DROP for it
	return nil
}

func (s *Server) dropDatabase(ctx context.Context, name string) error {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := dropDB(ctx, pool, name); err != nil {
		return s.errorf("containers: %s: %v", s.provider, err)
	}
	return nil
}

// dropDB drops the database name, whoever is connected to it (WITH
// (FORCE) terminates them: connections a test leaked).
func dropDB(ctx context.Context, ex interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, name string) error {
	q := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
	if _, err := ex.Exec(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}
