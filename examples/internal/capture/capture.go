// Package capture gives the example suites a test whose failures are kept to be asserted on: the examples show
// checks failing on purpose, and the suite must pass.
package capture

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TB is a testing.TB whose Errorf keeps the message instead of failing the test; everything else (Cleanup, Logf,
// Fatalf, Context) is the real test's.
type TB struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

// New returns a TB over t.
func New(t testing.TB) *TB { return &TB{TB: t} }

// Errorf keeps the message.
func (c *TB) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// Failures returns what Errorf kept, one message after another.
func (c *TB) Failures() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.failures, "\n")
}
