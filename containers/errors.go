package containers

import (
	"strings"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/failure"
)

// fail is a containers failure in the house grammar (see
// internal/failure): headline, indented details, then fixes. cause stays
// in the chain, unscrubbed, so that errors.As finds a *pgconn.PgError or
// an *exec.ExitError; what is printed is scrubbed by [scrubbed] before it
// leaves the package.
func fail(cause error, headline string, details []string, fixes ...string) *failure.Error {
	return &failure.Error{Pkg: "containers", Headline: headline, Details: details, Fixes: fixes, Err: cause}
}

// scrubbed returns err with the secrets, and any password in a connection
// string, removed from its text, and with its chain kept: a
// *failure.Error has each field scrubbed (its fixes, written by dbsuite,
// only of the secrets: they may show a URL's shape); any other error is
// wrapped in one whose text is scrubbed.
func scrubbed(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	clean := func(s string) string { return dsn.Scrub(dsn.RedactText(s), secrets...) }
	f, ok := err.(*failure.Error)
	if !ok {
		msg := clean(err.Error())
		return &failure.Error{Pkg: "containers", Headline: strings.TrimPrefix(msg, "containers: "), Err: err}
	}
	c := *f
	c.Headline = clean(c.Headline)
	c.Details = make([]string, len(f.Details))
	for i, d := range f.Details {
		c.Details[i] = clean(d)
	}
	c.Fixes = make([]string, len(f.Fixes))
	for i, x := range f.Fixes {
		c.Fixes[i] = dsn.Scrub(x, secrets...)
	}
	return &c
}

// errText is the text of err for a detail line, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// texts renders problems one per detail line.
func texts(problems []error) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = p.Error()
	}
	return out
}

// fatalLine returns the last line of text that holds a server's FATAL or
// PANIC message, such as
// `FATAL:  WAL archival cannot be enabled when wal_level is "minimal"`, or
// "": the last, since a log shows earlier sessions' FATALs first
// ("terminating connection due to administrator command").
func fatalLine(text string) string {
	lines := strings.Split(text, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		for _, mark := range []string{"FATAL:", "PANIC:"} {
			if j := strings.Index(lines[i], mark); j >= 0 {
				return strings.Join(strings.Fields(lines[i][j:]), " ")
			}
		}
	}
	return ""
}
