package containers

import "context"

// warmPool keeps a few clones of one template ready, made in the
// background, so that handing one out costs a channel receive.
type warmPool struct {
	ready chan *Database
	kick  chan struct{}
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
		wp = &warmPool{ready: make(chan *Database, s.warmSize), kick: make(chan struct{}, 1)}
		s.warm[tpl] = wp
		go s.fillWarmPool(wp, tpl, s.warmStop)
	}
	return wp
}

func (wp *warmPool) refill() {
	select {
	case wp.kick <- struct{}{}:
	default:
	}
}

func (s *Server) fillWarmPool(wp *warmPool, tpl string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-wp.kick:
		}
		for len(wp.ready) < cap(wp.ready) {
			db, err := s.clone(context.Background(), tpl, "t")
			if err != nil {
				break // the next hand-out clones in the foreground and reports it
			}
			if s.handlesUsed.Load() {
				// The tests take pools: have the first connection open.
				db.ready, _ = s.openReady(context.Background(), db.dsn)
			}
			select {
			case wp.ready <- db:
			case <-stop:
				db.closeReady()
				return
			}
		}
	}
}

// closeWarm closes the pools opened ahead on the databases no test took,
// once the warm pools are stopped.
func (s *Server) closeWarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, wp := range s.warm {
		for len(wp.ready) > 0 {
			(<-wp.ready).closeReady()
		}
	}
}
