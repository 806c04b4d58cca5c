package settings

import (
	"slices"
	"strings"
	"testing"
)

// TestRunOrderAndSelection checks, on a registry of its own, which reinitialisers a change runs and in
// what order.
func TestRunOrderAndSelection(t *testing.T) {
	var log []string
	r := new(registry)
	add := func(name string, opts ...Option) {
		r.register(name, func() { log = append(log, name) }, "test", opts...)
	}
	add("config", WithKeys("A", "B"))
	add("everything") // no options: runs on every change
	add("cache", WithAfter("config"))
	add("only-c", WithKeys("C"))
	add("report", WithAfter("cache", "only-c"))
	r.register("boom", func() { log = append(log, "boom"); panic("boom") }, "test", WithKeys("B"))
	add("after-boom", WithAfter("boom"))

	tests := []struct {
		name       string
		keys       []string
		want       []string
		wantPanics int
	}{
		{"key of the first", []string{"A"}, []string{"config", "everything", "cache", "report"}, 0},
		{"key of a leaf", []string{"C"}, []string{"everything", "only-c", "report"}, 0},
		{"two keys, each runs once", []string{"C", "A"}, []string{"config", "everything", "cache", "only-c", "report"}, 0},
		{"unknown key", []string{"Z"}, []string{"everything"}, 0},
		{"a panic does not stop the rest", []string{"B"}, []string{"config", "everything", "cache", "report", "boom", "after-boom"}, 1},
		{"no keys: all", nil, []string{"config", "everything", "cache", "only-c", "report", "boom", "after-boom"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log = nil
			rep := r.run(tt.keys)
			if !slices.Equal(log, tt.want) {
				t.Errorf("ran %v, want %v", log, tt.want)
			}
			if rep.names() != strings.Join(tt.want, ", ") {
				t.Errorf("report names %s, want %v", rep.names(), tt.want)
			}
			if len(rep.panics) != tt.wantPanics {
				t.Errorf("%d panics, want %d", len(rep.panics), tt.wantPanics)
			}
		})
	}
}

// TestPanicSite checks that a panic is located where it started, also for runtime errors.
func TestPanicSite(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"panic call", func() { panic("x") }, "registry_internal_test.go:"},
		{"runtime error", func() {
			var m map[string]int
			//lint:ignore SA5000 the nil map write is the runtime error under test
			m["x"] = 1
		}, "registry_internal_test.go:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := call(&entry{name: tt.name, fn: tt.fn, site: "here"})
			if p == nil {
				t.Fatal("no panic recorded")
			}
			if !strings.HasPrefix(p.at, tt.want) || !strings.Contains(p.at, "TestPanicSite") {
				t.Errorf("panic at %q, want %s…(…TestPanicSite…)", p.at, tt.want)
			}
		})
	}
}

func TestFramingDropsCoverage(t *testing.T) {
	tests := []struct {
		name, line string
		framing    bool
	}{
		{name: "coverage summary", line: "coverage: 61.3% of statements", framing: true},
		{name: "coverpkg summary", line: "coverage: 12.0% of statements in ./...", framing: true},
		{name: "no statements", line: "coverage: [no statements]", framing: true},
		{name: "the test's own output", line: "coverage: what the test printed", framing: false},
		{name: "indented", line: "    coverage: 61.3% of statements", framing: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := framing(tt.line); got != tt.framing {
				t.Errorf("framing(%q) = %v, want %v", tt.line, got, tt.framing)
			}
		})
	}
}
