package interleave

import (
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

// TestRoundsRotate checks that each round starts with the next variant.
func TestRoundsRotate(t *testing.T) {
	var order []string
	v := func(name string) Variant {
		return Variant{Name: name, Op: func(testing.TB) time.Duration { order = append(order, name); return time.Millisecond }}
	}
	got := map[string][]time.Duration{}
	for round := range 3 {
		runRound(t, round, []Variant{v("a"), v("b"), v("c")}, got)
	}
	if s := strings.Join(order, ""); s != "abcbcacab" {
		t.Errorf("order of 3 rounds = %s, want abcbcacab", s)
	}
	if len(got["a"]) != 3 || len(got["c"]) != 3 {
		t.Errorf("durations per variant = %v, want 3 each", got)
	}
}
