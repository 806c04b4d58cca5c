package containers

import (
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

var fuzzSettings = []settingInfo{
	{name: "fsync", vartype: "bool"},
	{name: "shared_buffers", vartype: "integer", unit: "8kB", minVal: ptr("16"), maxVal: ptr("1073741823")},
	{name: "work_mem", vartype: "integer", unit: "kB", minVal: ptr("64"), maxVal: ptr("2147483647")},
	{name: "checkpoint_timeout", vartype: "integer", unit: "s", minVal: ptr("30"), maxVal: ptr("86400")},
	{name: "max_connections", vartype: "integer", minVal: ptr("1"), maxVal: ptr("262143")},
	{name: "vacuum_cost_delay", vartype: "real", unit: "ms", minVal: ptr("-1"), maxVal: ptr("100")},
	{name: "wal_level", vartype: "enum", enumvals: []string{"minimal", "replica", "logical"}},
	{name: "search_path", vartype: "string"},
}

func TestNormalize(t *testing.T) {
	byName := map[string]settingInfo{}
	for _, si := range fuzzSettings {
		byName[si.name] = si
	}
	tests := []struct {
		setting, in, want, err string
	}{
		{"fsync", "OFF", "off", ""},
		{"fsync", "of", "off", ""},
		{"fsync", "t", "on", ""},
		{"fsync", "o", "", `fsync = "o": want a boolean`},
		{"shared_buffers", "128MB", "16384", ""},
		{"shared_buffers", "16384", "16384", ""},
		{"shared_buffers", "1GB", "131072", ""},
		{"shared_buffers", "1.5MB", "192", ""},
		{"shared_buffers", "8", "", `shared_buffers = "8": out of range, want 16 to 1073741823 8kB`},
		{"work_mem", "64MB", "65536", ""},
		{"work_mem", "0x100", "256", ""},
		{"work_mem", "010000", "4096", ""}, // strtol base 0: octal, as PostgreSQL reads it
		{"work_mem", "10 XB", "", `work_mem = "10 XB": unknown memory unit "XB" (valid: B, kB, MB, GB, TB)`},
		{"work_mem", "10ms", "", `work_mem = "10ms": unknown memory unit "ms"`},
		{"checkpoint_timeout", "1d", "86400", ""},
		{"checkpoint_timeout", "30min", "1800", ""},
		{"checkpoint_timeout", "2d", "", "out of range"},
		{"max_connections", "300", "300", ""},
		{"max_connections", "3e2", "300", ""},
		{"max_connections", "lots", "", `max_connections = "lots": not a number`},
		{"vacuum_cost_delay", "2", "2", ""},
		{"vacuum_cost_delay", "500us", "0.5", ""},
		{"wal_level", "Minimal", "minimal", ""},
		{"wal_level", "fast", "", `wal_level = "fast": want one of minimal, replica, logical`},
		{"search_path", " a, b ", "a, b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.setting+"="+tt.in, func(t *testing.T) {
			got, err := byName[tt.setting].normalize(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("normalize(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzNormalize: parsing never panics, and a canonical value is its own
// canonical form (what Tune compares before and after must be stable).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"on", "128MB", "1.5GB", "0x10", "-1", "30min", "1e400", "5 kB", "minimal", "", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, si := range fuzzSettings {
			n, err := si.normalize(v)
			if err != nil {
				continue
			}
			again, err := si.normalize(n)
			if err != nil || again != n {
				t.Errorf("%s: normalize(%q) = %q, but normalize(%q) = %q, %v", si.name, v, n, n, again, err)
			}
		}
	})
}
