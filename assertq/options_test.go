package assertq_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// TestMisplacedOptions: one Option type serves New, the plan checks and ExpectScaling; an option given where it
// does not apply fails the test (New, ExpectScaling) or panics (a plan check), naming it and where it belongs.
func TestMisplacedOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(tb *faketb.TB)
	}{
		{name: "plan option to New", run: func(tb *faketb.TB) { assertq.New(tb, assertq.Strict(), assertq.Factor(3)) }},
		{name: "scale option to New", run: func(tb *faketb.TB) { assertq.New(tb, assertq.MaxExponent(2)) }},
		{name: "New option to a plan check", run: func(tb *faketb.TB) {
			defer func() { tb.Errorf("panic: %v", recover()) }()
			assertq.NoRowExplosion(assertq.Factor(3), assertq.Strict())
		}},
		{name: "plan option to ExpectScaling", run: func(tb *faketb.TB) {
			rec := assertq.New(tb)
			assertq.ExpectScaling(tb, rec, []float64{1, 2}, func(float64) int { return 0 }, func(context.Context, int) {}, assertq.MinRows(5))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := faketb.New(nil, t.Name())
			tb.Run(func(testing.TB) { tt.run(tb) }) // New and ExpectScaling fail with Fatal, which ends run
			tb.Finish()
			checkGolden(t, "messages/options/"+strings.ReplaceAll(tt.name, " ", "_"), tb.Failures()+"\n")
		})
	}
	// Where they belong, the same options are taken as they are.
	if got := fmt.Sprint(assertq.NoRowExplosion(assertq.Factor(3), assertq.MinRows(100))); got != "NoRowExplosion(Factor(3), MinRows(100))" {
		t.Errorf("NoRowExplosion(Factor(3), MinRows(100)) = %q", got)
	}
}
