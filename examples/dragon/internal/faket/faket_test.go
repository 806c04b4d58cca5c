package faket_test

import (
	"testing"

	"github.com/dbsuite/dbsuite/examples/dragon/internal/faket"
)

func Example() {
	faket.Run("TestFails", false, func(t testing.TB) {
		t.Errorf("got %d eggs, want %d", 0, 3)
	})
	faket.Run("TestStops", false, func(t testing.TB) {
		t.Fatalf("no dragon")
		t.Errorf("not reached")
	})
	faket.Run("TestPasses", false, func(t testing.TB) {
		t.Setenv("FAKET_EXAMPLE", "1")
	})
	faket.Run("TestParallelSetenv", true, func(t testing.TB) {
		defer func() { t.Errorf("recovered: %v", recover()) }()
		t.Setenv("FAKET_EXAMPLE", "1")
	})
	// Output:
	// --- FAIL: TestFails
	// got 0 eggs, want 3
	// --- FAIL: TestStops
	// no dragon
	// --- PASS: TestPasses
	// --- FAIL: TestParallelSetenv
	// recovered: faketb: Setenv in a test that called t.Parallel (as testing.T.Setenv refuses)
}
