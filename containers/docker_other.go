//go:build !unix

package containers

import (
	"context"
	"errors"
)

var errNoDocker = errors.New("the Docker provider shares and supervises containers with Unix file locks; " +
	"on this system set " + EnvURL + " to a server you run")

type dockerProvider struct{}

func (dockerProvider) name() string                      { return ProviderDocker }
func (dockerProvider) explicit(*serverOptions) bool      { return false }
func (dockerProvider) unavailable(*serverOptions) string { return errNoDocker.Error() }
func (dockerProvider) start(context.Context, *serverOptions) (*Server, error) {
	return nil, errNoDocker
}

// dockerServer is never made on this system.
type dockerServer struct{ runDir string }

func (*dockerServer) keep(string) string { return "" }
func (*dockerServer) shutdown() error    { return nil }

const dockerRestartHint = ""

func dockerAvailable() error { return errNoDocker }
