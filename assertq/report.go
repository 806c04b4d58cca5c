package assertq

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// Limits that keep failure messages readable.
const (
	maxGroupLines   = 40  // statements listed before "… N more"
	maxFingerprint  = 100 // runes of a fingerprint shown in a message line
	maxArgLists     = 3   // argument lists shown under a finding
	maxArgRunes     = 40  // runes of one argument value
	maxArgListRunes = 100 // runes of one argument list
)

// group is the queries of one fingerprint from one call stack.
type group struct {
	first   *Query
	count   int
	finding *Finding
	via     string // a frame that tells this group from another with the same fingerprint and call site
}

// groupQueries groups qs by fingerprint and call stack, in the order each group's first query ran, and attaches
// the findings.
func groupQueries(qs Queries, findings []Finding) []*group {
	type key struct {
		fp          string
		stack, unit uint64
	}
	index := map[key]*group{}
	var groups []*group
	for i := range qs {
		q := &qs[i]
		k := key{q.Fingerprint, q.StackKey, q.unit}
		g, ok := index[k]
		if !ok {
			g = &group{first: q}
			index[k] = g
			groups = append(groups, g)
		}
		g.count++
	}
	for i := range findings {
		f := &findings[i]
		if g, ok := index[key{f.Queries[0].Fingerprint, f.Queries[0].StackKey, f.Queries[0].unit}]; ok {
			g.finding = f
			g.count = f.size()
		}
	}
	// Two groups with the same fingerprint and call site came through different callers: name the first frame
	// where their stacks part.
	type site struct {
		fp     string
		caller Frame
	}
	bySite := map[site][]*group{}
	for _, g := range groups {
		s := site{g.first.Fingerprint, g.first.Caller}
		bySite[s] = append(bySite[s], g)
	}
	for _, gs := range bySite {
		if len(gs) < 2 {
			continue
		}
		for i, g := range gs {
			other := gs[0]
			if i == 0 {
				other = gs[1]
			}
			g.via = partingFrame(g.first.Stack, other.first.Stack)
		}
	}
	return groups
}

// maxCallers is how many of a finding's outer frames a message shows: where the loop usually is (the caller of a
// repository method) and one more.
const maxCallers = 2

// callers formats outer frames: "service.go:12 (shop.List) ← api.go:40 (api.Stores)".
func callers(frames []Frame) string {
	parts := make([]string, 0, maxCallers)
	for _, f := range frames[:min(len(frames), maxCallers)] {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, " ← ")
}

// partingFrame returns the first frame of a that differs from b, formatted, or "".
func partingFrame(a, b []Frame) string {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			if i == 0 {
				return ""
			}
			return a[i].String()
		}
	}
	return ""
}

// groupLines returns one detail line per group: count, fingerprint, call site and, with marks, what a finding
// says about it; and the arguments of findings. A finding in shown was printed in full by an earlier message of
// the same failure: its group is marked as such, without its arguments again.
func groupLines(qs Queries, findings []Finding, marks bool, shown map[findingKey]bool) []string {
	groups := groupQueries(qs, findings)
	listed := groups
	if len(listed) > maxGroupLines {
		listed = listed[:maxGroupLines]
	}
	countWidth, fpWidth := 1, 0
	for _, g := range listed {
		countWidth = max(countWidth, len(fmt.Sprint(g.count)))
		fpWidth = max(fpWidth, utf8.RuneCountInString(clip(g.first.Fingerprint, maxFingerprint)))
	}
	var lines []string
	for _, g := range listed {
		site := g.first.Caller.String()
		if g.via != "" {
			site += " via " + g.via
		}
		line := fmt.Sprintf("%*d× %-*s  %s", countWidth, g.count, fpWidth, clip(g.first.Fingerprint, maxFingerprint), site)
		again := g.finding != nil && shown[g.finding.key()]
		if g.finding != nil && marks {
			if again {
				line += "  <- " + g.finding.label() + ", above"
			} else {
				line += "  <- " + g.finding.mark()
			}
		}
		lines = append(lines, strings.TrimRight(line, " "))
		if g.finding != nil && !again && !g.first.hideArgs {
			if args := argLists(g.finding); args != "" {
				lines = append(lines, fmt.Sprintf("%*s  args: %s", countWidth, "", args))
			}
		}
		if g.finding != nil && !again && len(g.first.Stack) > 1 {
			lines = append(lines, fmt.Sprintf("%*s  called from: %s", countWidth, "", callers(g.first.Stack[1:])))
		}
	}
	if n := len(groups) - len(listed); n > 0 {
		lines = append(lines, fmt.Sprintf("… %d more statements", n))
	}
	return lines
}

// argLists shows the first few distinct argument lists of a finding: "(1) (2) (3) … 47 more"; "" when its
// statements have no arguments.
func argLists(f *Finding) string {
	var shown []string
	seen := map[uint64]bool{}
	hasArgs := false
	for i := range f.Queries {
		q := &f.Queries[i]
		hasArgs = hasArgs || len(q.Args) > 0
		if h := valuesHash(q); !seen[h] && len(shown) < maxArgLists {
			seen[h] = true
			shown = append(shown, formatArgs(shownArgs(q))) // keys first, named by column (remedy_args.go)
		}
	}
	if !hasArgs {
		return ""
	}
	s := strings.Join(shown, " ")
	if more := f.Distinct - len(shown); more > 0 {
		s += fmt.Sprintf(" … %d more", more)
		if f.over {
			s += " (at least)"
		}
	}
	return s
}

// formatArgs renders an argument list, each value truncated: (42, "ada@example.com", NULL).
func formatArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = formatArg(a)
	}
	return "(" + clip(strings.Join(parts, ", "), maxArgListRunes) + ")"
}

func formatArg(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return fmt.Sprintf("%q", clip(v, maxArgRunes))
	case []byte:
		return fmt.Sprintf("%q", clip(string(v), maxArgRunes))
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return clip(v.String(), maxArgRunes)
	}
	return clip(fmt.Sprint(v), maxArgRunes)
}

// clip shortens s to n runes, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// describe says how many of which queries: "52 queries", "3 SELECT queries on orders".
func describe(n int, filters []Filter) string {
	var kinds, rest []string
	for _, f := range filters {
		if k, ok := f.(Kind); ok {
			kinds = append(kinds, k.String())
		} else {
			rest = append(rest, f.String())
		}
	}
	noun := "queries"
	if n == 1 {
		noun = "query"
	}
	s := fmt.Sprint(n)
	if len(kinds) > 0 {
		s += " " + strings.Join(kinds, "/")
	}
	s += " " + noun
	if len(rest) > 0 {
		s += " " + strings.Join(rest, ", ")
	}
	return s
}

// A violation is one failed check of this package, rendered in the failure grammar of internal/failure. [Verify]
// renders the violations of one call together, so that a finding listed in full by one is not repeated by the
// next (a budget and NoNPlusOne failing on the same N+1).
type violation struct {
	headline string
	queries  Queries   // listed, grouped by statement and call site
	findings []Finding // marked in the list
	marks    bool      // whether group lines say what their finding is
	subject  *Finding  // the finding a NoNPlusOne violation is about
	fixes    []string  // besides the fixes of findings, which render adds
}

func (v *violation) Error() string { return v.render(map[findingKey]bool{}).Error() }

// render builds the message, leaving out what shown says an earlier message printed, and adds its own findings to
// shown.
func (v *violation) render(shown map[findingKey]bool) *failure.Error {
	e := &failure.Error{Pkg: "assertq", Headline: v.headline}
	if v.subject != nil && shown[v.subject.key()] {
		e.Headline += " (listed above)"
		return e
	}
	e.Details = groupLines(v.queries, v.findings, v.marks, shown)
	e.Fixes = append(e.Fixes, v.fixes...)
	for _, f := range v.findings {
		if !shown[f.key()] {
			e.Fixes = append(e.Fixes, f.fix())
		}
	}
	for _, f := range v.findings {
		shown[f.key()] = true
	}
	return e
}

// findingKey identifies a finding across the messages of one failure.
type findingKey struct {
	unit, stack uint64
	fp          string
}

func (f Finding) key() findingKey {
	q := &f.Queries[0]
	return findingKey{q.unit, q.StackKey, q.Fingerprint}
}
