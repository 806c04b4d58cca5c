//go:build !unix

package containers

import (
	"context"
	"errors"
)

// errNoLocal is why the local provider cannot run here.
var errNoLocal = errors.New("local PostgreSQL servers need a Unix system (Linux, macOS, BSD); " +
	"set " + EnvURL + " to a server you run")

type localProvider struct{}

func (localProvider) name() string                                           { return ProviderLocal }
func (localProvider) explicit(*serverOptions) bool                           { return false }
func (localProvider) unavailable(*serverOptions) string                      { return errNoLocal.Error() }
func (localProvider) start(context.Context, *serverOptions) (*Server, error) { return nil, errNoLocal }

// localServer is never made on this system.
type localServer struct{ runDir string }

func (*localServer) pid() int                      { return 0 }
func (*localServer) restart(context.Context) error { return errNoLocal }
func (*localServer) shutdown() error               { return nil }
func (*localServer) keep() string                  { return "" }

// pidAlive cannot tell here: report every owner alive, so that nothing is
// swept by mistake.
func pidAlive(int) bool { return true }

type reaper struct{}

// reapAtExit cannot be done here; the next test binary's sweep does it.
func (s *Server) reapAtExit(string) {}

// keepAtExit has nothing to spare here.
func (s *Server) keepAtExit(string) {}

// droppedBeforeExit has no reaper to tell here.
func (s *Server) droppedBeforeExit(string) {}

// launched: no local server is started here.
func (*localServer) launched() bool { return false }

// atStage: the fault suite's stages are those of the local provider.
func atStage(string, string) {}
