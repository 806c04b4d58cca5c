// Package failure renders every dbsuite failure message in one grammar:
//
//	pkg: what happened, want what
//	  a detail, indented two spaces
//	  another detail
//	fix: what to do
//
// The headline says what happened before what was wanted; the details (queries, plan nodes, rows, a
// command's output) are indented; each fix sits on its own line at column 0, after every detail. It
// uses only the standard library so that settings may import it.
package failure

import "strings"

// Error is one failure. Its text is [Error.Error]; Err, if set, is what it wraps, so that
// errors.As finds the cause (a *pgconn.PgError, an *exec.ExitError) while the text stays scrubbed.
type Error struct {
	Pkg      string   // "assertq", "containers", "fixtures", "settings"
	Headline string   // what happened, want what
	Details  []string // each indented two spaces; a detail with newlines keeps its own inner indentation
	Fixes    []string // each printed as "fix: ..." at column 0, in order, repeats dropped
	Err      error    // the cause, or nil
}

// Error renders the message.
func (e *Error) Error() string { return Format(e.Pkg, e.Headline, e.Details, e.Fixes...) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Format renders a message in the house grammar. Empty details and fixes are skipped; a fix given
// twice is printed once.
func Format(pkg, headline string, details []string, fixes ...string) string {
	var b strings.Builder
	b.WriteString(pkg)
	b.WriteString(": ")
	b.WriteString(headline)
	for _, d := range details {
		if d == "" {
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			b.WriteString("\n  ")
			b.WriteString(line)
		}
	}
	seen := make(map[string]bool, len(fixes))
	for _, f := range fixes {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		b.WriteString("\nfix: ")
		b.WriteString(strings.ReplaceAll(f, "\n", "\n     "))
	}
	return b.String()
}

// Indent indents every line of s after the first by n spaces, for a multi-line value inside a detail.
func Indent(s string, n int) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+strings.Repeat(" ", n))
}
