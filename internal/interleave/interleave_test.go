package interleave

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"odd", []time.Duration{5, 1, 3}, 3},
		{"even", []time.Duration{4, 1, 3, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMedianOver(t *testing.T) {
	got := map[string][]time.Duration{"floor": {10, 20, 30}, "way": {15, 21, 40}}
	if m := MedianOver(got, "way", "floor"); m != 5 {
		t.Errorf("MedianOver = %v, want 5 (of 5, 1, 10)", m)
	}
}

// TestRoundsBalanced checks the rounds' orders over a cycle: each is an
// order of all the variants, each variant starts as many rounds as any
// other, and each comes right after each other variant as often as after
// any other.
func TestRoundsBalanced(t *testing.T) {
	for n := 1; n <= 8; n++ {
		rows := n
		if n%2 == 1 {
			rows = 2 * n
		}
		first := map[int]int{}
		follows := map[[2]int]int{}
		for round := range rows {
			seq := order(round, n)
			if sorted := slices.Sorted(slices.Values(seq)); !slices.Equal(sorted, seqTo(n)) {
				t.Fatalf("n=%d round %d: order %v, want each of 0..%d once", n, round, seq, n-1)
			}
			first[seq[0]]++
			for j := 1; j < n; j++ {
				follows[[2]int{seq[j-1], seq[j]}]++
			}
		}
		for v := range n {
			if first[v] != rows/n {
				t.Errorf("n=%d: variant %d starts %d of %d rounds, want %d", n, v, first[v], rows, rows/n)
			}
		}
		if n > 1 {
			want := rows * (n - 1) / (n * (n - 1))
			for a := range n {
				for b := range n {
					if a != b && follows[[2]int{a, b}] != want {
						t.Errorf("n=%d: %d follows %d %d times in a cycle of %d rounds, want %d", n, b, a, follows[[2]int{a, b}], rows, want)
					}
				}
			}
		}
	}
}

func seqTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestRunRoundRunsTheOrder checks that a round runs each variant once, in
// the round's order.
func TestRunRoundRunsTheOrder(t *testing.T) {
	var ran []string
	v := func(name string) Variant {
		return Variant{Name: name, Op: func(testing.TB) time.Duration { ran = append(ran, name); return time.Millisecond }}
	}
	got := map[string][]time.Duration{}
	for round := range 6 {
		runRound(t, round, []Variant{v("a"), v("b"), v("c")}, got)
	}
	// The rows of the design for three: abc bca cab, then cba acb bac.
	if s := strings.Join(ran, ""); s != "abcbcacabcbaacbbac" {
		t.Errorf("order of 6 rounds = %s, want abcbcacabcbaacbbac", s)
	}
	if len(got["a"]) != 6 || len(got["c"]) != 6 {
		t.Errorf("durations per variant = %v, want 6 each", got)
	}
}
