package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"fsync", "full_page_writes", "work_mem", "wal_level"}
	tests := []struct {
		name, in, want string
		max            int
	}{
		{"one edit", "fsyn", "fsync", 2},
		{"swap", "work_mme", "work_mem", 2},
		{"too far", "shared_buffers", "", 2},
		{"exact", "wal_level", "wal_level", 0},
		{"empty candidates", "x", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cands := names
			if tt.name == "empty candidates" {
				cands = nil
			}
			if got := Closest(tt.in, cands, tt.max); got != tt.want {
				t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
