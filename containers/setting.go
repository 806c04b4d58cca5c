package containers

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Settings maps PostgreSQL setting names to values written as in
// postgresql.conf: "off", "4GB", "30min", "minimal".
type Settings map[string]string

func (s Settings) names() []string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// ThrowawaySettings returns the settings [Postgres] applies to the servers
// it starts, and pgtune's "test" preset: settings for a server whose data
// may be lost. Durability off, no checkpoints or autovacuum runs during a
// test run, no JIT compilation of big test queries, minimal WAL, and room
// for parallel test binaries. Each was
// measured to help or to be needed; see the README's tuning table.
func ThrowawaySettings() Settings {
	return Settings{
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		"checkpoint_timeout": "1d",
		"max_wal_size":       "8GB",
		"autovacuum":         "off",
		"jit":                "off",
		"wal_level":          "minimal",
		"max_wal_senders":    "0",
		"max_connections":    "300",
	}
}

// settingInfo is a row of pg_settings.
type settingInfo struct {
	name, setting, unit, vartype, context, source string
	minVal, maxVal                                *string
	enumvals                                      []string
	pendingRestart                                bool
}

var memoryUnits = map[string]float64{"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}

var timeUnits = map[string]float64{"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}

// normalize parses v the way PostgreSQL parses a value for this setting
// and returns a canonical form that two equal values share: "on"/"off"
// for booleans, the number in the setting's own unit for numbers, the
// lower-case name for enums. It rejects what PostgreSQL would reject.
func (si settingInfo) normalize(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch si.vartype {
	case "bool":
		b, ok := parseBool(v)
		if !ok {
			return "", fmt.Errorf("%s = %q: want a boolean (on, off, true, false, yes, no, 1, 0)", si.name, v)
		}
		if b {
			return "on", nil
		}
		return "off", nil
	case "enum":
		for _, e := range si.enumvals {
			if strings.EqualFold(e, v) {
				return strings.ToLower(e), nil
			}
		}
		return "", fmt.Errorf("%s = %q: want one of %s", si.name, v, strings.Join(si.enumvals, ", "))
	case "integer", "real":
		n, err := si.parseNumber(v)
		if err != nil {
			return "", err
		}
		if si.vartype == "integer" {
			n = math.RoundToEven(n)
		}
		if err := si.checkRange(v, n); err != nil {
			return "", err
		}
		return strconv.FormatFloat(n, 'g', -1, 64), nil
	default: // string
		return v, nil
	}
}

// parseNumber reads a number with an optional unit and converts it to
// the setting's unit.
func (si settingInfo) parseNumber(v string) (float64, error) {
	i := 0
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		i++
	}
	numEnd := i
	hex := strings.HasPrefix(strings.ToLower(v[i:]), "0x")
	if hex {
		numEnd += 2
		for numEnd < len(v) && strings.ContainsRune("0123456789abcdefABCDEF", rune(v[numEnd])) {
			numEnd++
		}
	} else {
		for numEnd < len(v) && strings.ContainsRune("0123456789.eE", rune(v[numEnd])) {
			// An exponent sign belongs to the number.
			if (v[numEnd] == 'e' || v[numEnd] == 'E') && numEnd+1 < len(v) && (v[numEnd+1] == '+' || v[numEnd+1] == '-') {
				numEnd++
			}
			numEnd++
		}
	}
	num, unit := v[:numEnd], strings.TrimSpace(v[numEnd:])
	var n float64
	if hex {
		u, err := strconv.ParseInt(num, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%s = %q: not a number", si.name, v)
		}
		n = float64(u)
	} else {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("%s = %q: not a number", si.name, v)
		}
		n = f
	}
	if si.vartype == "integer" && !hex && !strings.ContainsAny(num, ".eE") {
		// A plain integer: PostgreSQL reads it with strtol, base 0, so a
		// leading 0 means octal.
		if u, err := strconv.ParseInt(num, 0, 64); err == nil {
			n = float64(u)
		}
	}
	if unit == "" {
		return n, nil
	}
	base, table, kind := si.baseUnit()
	if table == nil {
		return 0, fmt.Errorf("%s = %q: this setting takes no unit", si.name, v)
	}
	mult, ok := table[unit]
	if !ok {
		return 0, fmt.Errorf("%s = %q: unknown %s unit %q (valid: %s)", si.name, v, kind, unit, unitList(table))
	}
	return n * mult / base, nil
}

// baseUnit returns the size of the setting's unit in bytes or
// milliseconds, and the units a value may use.
func (si settingInfo) baseUnit() (float64, map[string]float64, string) {
	u := si.unit
	if u == "" {
		return 1, nil, ""
	}
	if mult, ok := timeUnits[u]; ok {
		return mult, timeUnits, "time"
	}
	// Memory units may carry a count: "8kB", "16MB".
	j := 0
	for j < len(u) && u[j] >= '0' && u[j] <= '9' {
		j++
	}
	count := 1.0
	if j > 0 {
		c, _ := strconv.Atoi(u[:j])
		count = float64(c)
	}
	if mult, ok := memoryUnits[u[j:]]; ok {
		return count * mult, memoryUnits, "memory"
	}
	return 1, nil, ""
}

func unitList(table map[string]float64) string {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if table[a] < table[b] {
			return -1
		}
		if table[a] > table[b] {
			return 1
		}
		return 0
	})
	return strings.Join(keys, ", ")
}

func (si settingInfo) checkRange(v string, n float64) error {
	parse := func(p *string) (float64, bool) {
		if p == nil {
			return 0, false
		}
		f, err := strconv.ParseFloat(*p, 64)
		return f, err == nil
	}
	lo, hasLo := parse(si.minVal)
	hi, hasHi := parse(si.maxVal)
	if (hasLo && n < lo) || (hasHi && n > hi) {
		unit := si.unit
		if unit != "" {
			unit = " " + unit
		}
		return fmt.Errorf("%s = %q: out of range, want %s to %s%s", si.name, v, deref(si.minVal), deref(si.maxVal), unit)
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return "?"
	}
	return *p
}

// parseBool accepts what PostgreSQL's parse_bool accepts: true, false,
// yes, no and their unique prefixes, on, off, 1, 0; any case.
func parseBool(v string) (value, ok bool) {
	s := strings.ToLower(v)
	switch {
	case s == "":
		return false, false
	case s == "1":
		return true, true
	case s == "0":
		return false, true
	case s == "on":
		return true, true
	case len(s) >= 2 && strings.HasPrefix("off", s):
		return false, true
	case strings.HasPrefix("true", s), strings.HasPrefix("yes", s):
		return true, true
	case strings.HasPrefix("false", s), strings.HasPrefix("no", s):
		return false, true
	}
	return false, false
}
