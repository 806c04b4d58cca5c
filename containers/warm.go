package containers

import (
	"context"
	"sync"
)

// How the warm pool keeps up
//
// A warm pool keeps clones of one template ready, made in the background,
// so that handing one out costs a channel receive; the test's pool is
// opened when the test asks for it (pool.go says why not ahead). It
// starts at the server's warm size ([WithWarmDatabases]); each time a
// test finds it empty it doubles its target, up to warmGrowth databases
// (or the warm size, if larger), since a suite of short tests takes
// databases faster than one clone at a time makes them; warmWorkers
// clones are made at once, which also lets the server share one
// checkpoint among them.
const (
	warmGrowth  = 4
	warmWorkers = 2
)

// warmPool keeps clones of one template ready.
type warmPool struct {
	ready   chan *Database // capacity: the most it grows to
	kick    chan struct{}
	adopted sync.Once // spares of exited binaries taken over (warm_spare.go)

	mu     sync.Mutex
	target int           // databases to keep ready, grown by misses
	making int           // clones in progress
	failed chan struct{} // closed (and replaced) when a worker's clone fails
}

// warmMax is the most databases a warm pool of the server holds.
func (s *Server) warmMax() int {
	if s.warmSize == 0 {
		return 0
	}
	return max(s.warmSize, warmGrowth)
}

func (s *Server) warmPool(tpl string) *warmPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warm == nil {
		s.warm = map[string]*warmPool{}
		s.warmStop = make(chan struct{})
	}
	wp, ok := s.warm[tpl]
	if !ok {
		wp = &warmPool{ready: make(chan *Database, s.warmMax()), kick: make(chan struct{}, warmWorkers), target: s.warmSize,
			failed: make(chan struct{})}
		s.warm[tpl] = wp
		for range warmWorkers {
			go s.fillWarmPool(wp, tpl, s.warmStop)
		}
	}
	return wp
}

// refill wakes a worker to make up what the pool lacks.
func (wp *warmPool) refill() {
	select {
	case wp.kick <- struct{}{}:
	default:
	}
}

// missed grows the pool after a test found it empty, and wakes every
// worker.
func (wp *warmPool) missed() {
	wp.mu.Lock()
	wp.target = min(2*wp.target, cap(wp.ready))
	wp.mu.Unlock()
	for range warmWorkers {
		wp.refill()
	}
}

// claim reports whether the pool lacks a database no worker is making,
// and if so counts one more in progress.
func (wp *warmPool) claim() bool {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if len(wp.ready)+wp.making >= wp.target {
		return false
	}
	wp.making++
	return true
}

// full reports whether the pool holds its target.
func (wp *warmPool) full() bool {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	return len(wp.ready) >= wp.target
}

func (wp *warmPool) done() {
	wp.mu.Lock()
	wp.making--
	wp.mu.Unlock()
}

// fail wakes the tests waiting for a database: a clone failed.
func (wp *warmPool) fail() {
	wp.mu.Lock()
	close(wp.failed)
	wp.failed = make(chan struct{})
	wp.mu.Unlock()
}

// take hands out a ready database. When there is none, it grows the pool
// and waits for the workers' next clone rather than cloning one more
// itself: a clone of its own would share the server with the workers'
// clones, finish no sooner, and be one more the pool is left holding
// (measured when it did: in the 6×20 suite, 16 of 136 clones were made
// for no test). It returns false when a
// worker's clone failed or ctx ended: the caller clones in the foreground
// and reports what goes wrong.
func (wp *warmPool) take(ctx context.Context) (*Database, bool) {
	got := func(db *Database) (*Database, bool) {
		wp.refill()
		db.srv.note("taken %s", db.name)
		return db, true
	}
	select {
	case db := <-wp.ready:
		return got(db)
	default:
	}
	wp.mu.Lock()
	failed := wp.failed
	wp.mu.Unlock()
	wp.missed()
	select {
	case db := <-wp.ready:
		return got(db)
	case <-failed:
	case <-ctx.Done():
	}
	return nil, false
}

func (s *Server) fillWarmPool(wp *warmPool, tpl string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-wp.kick:
		}
		for wp.claim() {
			// In the ledger before it is made: a binary that exits while
			// its workers clone (as its last tests end, the pool refills)
			// leaves clones for the next binary to take over, not to drop.
			name := dbName("t")
			s.note("warm %s %s", name, tpl)
			db, err := s.clone(context.Background(), tpl, name)
			if err != nil {
				wp.done()
				wp.fail() // the tests waiting clone in the foreground and report it
				break
			}
			atStage("warm-cloned", name)
			select {
			case wp.ready <- db:
				wp.done()
			case <-stop:
				wp.done()
				return
			}
		}
	}
}
