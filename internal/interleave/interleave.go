// Package interleave compares the variants of a benchmark side by side:
// every round runs each variant once, so that a machine that slows down or
// speeds up during the run affects every variant alike. It reports each
// variant's median and its ratio to the first variant, the reference.
//
// The order changes from round to round as the rows of a balanced Latin
// square (a Williams design) do: over a cycle of rounds (as many as there
// are variants, twice that for an odd number), each variant comes first
// equally often and comes right after each other variant equally often.
// Rotating one order would not do: a variant would always follow the same
// other one, and what that one leaves behind (memory the kernel is still
// freeing, a server still stopping) would always land on it. In the suite
// benchmark, the floor took 1.846 s after the raw way and 1.784 s after
// the hand-rolled one (medians of 7 rounds).
//
// Sub-benchmarks cannot do this: under -count, each runs all its
// repetitions before the next starts, minutes apart.
package interleave

import (
	"slices"
	"testing"
	"time"
)

// Variant is one way of doing what is measured. Op does it once and
// returns how long the part being measured took, leaving out its own
// set-up and clean-up.
type Variant struct {
	Name string // a metric unit: no spaces
	Op   func(tb testing.TB) time.Duration
}

// Run runs one round per iteration of b (at least one), each variant once
// per round, and reports per variant "<name>-ms" (its median) and, for
// the variants after the first, "<name>/<first>" (the ratio of medians).
// It returns the durations measured, by variant name.
func Run(b *testing.B, unit time.Duration, variants ...Variant) map[string][]time.Duration {
	b.Helper()
	got := map[string][]time.Duration{}
	round := 0
	for b.Loop() { // ns/op is the time of a whole round
		runRound(b, round, variants, got)
		round++
	}
	Report(b, unit, got, names(variants)...)
	return got
}

// runRound runs each variant once, in the round's order.
func runRound(tb testing.TB, round int, variants []Variant, got map[string][]time.Duration) {
	for _, i := range order(round, len(variants)) {
		v := variants[i]
		got[v.Name] = append(got[v.Name], v.Op(tb))
	}
}

// order returns the order of n variants in a round: row round of a
// Williams design, cycled. Row r of the square is 0, 1, n-1, 2, n-2, ...,
// each plus r, mod n; for an odd n the reversed rows follow, since the
// square alone balances who follows whom only for an even n.
func order(round, n int) []int {
	rows := n
	if n%2 == 1 {
		rows = 2 * n
	}
	r := round % rows
	seq := make([]int, n)
	for j := range n {
		base := (j + 1) / 2 // 0, 1, 1, 2, 2, ...
		if j%2 == 0 && j > 0 {
			base = n - j/2 // 0, 1, n-1, 2, n-2, ...
		}
		seq[j] = (base + r) % n
	}
	if r >= n { // row r-n, reversed: (base + r) mod n is the same as for r-n
		slices.Reverse(seq)
	}
	return seq
}

// Report reports the median of each named series, in unit ("-ms" or
// "-s" suffix), and each one's ratio to the first.
func Report(b *testing.B, unit time.Duration, got map[string][]time.Duration, order ...string) {
	b.Helper()
	suffix := "-ms"
	if unit == time.Second {
		suffix = "-s"
	}
	ref := Median(got[order[0]])
	for i, name := range order {
		m := Median(got[name])
		b.ReportMetric(float64(m)/float64(unit), name+suffix)
		if i > 0 && ref > 0 {
			b.ReportMetric(float64(m)/float64(ref), name+"/"+order[0])
		}
	}
}

// Median returns the median of ds, or 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MedianOver returns the median over rounds of a variant's time minus a
// floor variant's in the same round (they ran next to each other, so load
// that comes and goes between rounds cancels out).
func MedianOver(got map[string][]time.Duration, name, floor string) time.Duration {
	var diffs []time.Duration
	for i, d := range got[name] {
		if i < len(got[floor]) {
			diffs = append(diffs, d-got[floor][i])
		}
	}
	return Median(diffs)
}

func names(vs []Variant) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}
