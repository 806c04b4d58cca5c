package fingerprint

import "strings"

// Name reads the name sqlc gives a query: its generated SQL starts with a comment line
// "-- name: GetAuthor :one" (after leading whitespace). It returns the name ("GetAuthor") and the command
// (":one", ":many", ":exec", ":copyfrom", ":batchexec" ...), or two empty strings when the text does not
// start that way. The command may be empty when the comment has none.
func Name(sql string) (name, command string) {
	s := strings.TrimLeft(sql, " \t\r\n")
	const marker = "--"
	if !strings.HasPrefix(s, marker) {
		return "", ""
	}
	line := s[len(marker):]
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "name:" || !identifier(fields[1]) {
		return "", ""
	}
	name = fields[1]
	if len(fields) > 2 && strings.HasPrefix(fields[2], ":") {
		command = fields[2]
	}
	return name, command
}

// identifier reports whether s is a Go-style identifier, as sqlc query names are: letters, digits, underscores,
// not starting with a digit.
func identifier(s string) bool {
	for i, c := range s {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// named puts a query's sqlc name before its normalised text: "GetAuthor: SELECT id, name FROM authors WHERE id
// = ?". The name is what the user wrote and calls; the text stays, so two queries that share a name in two
// packages but differ in SQL keep different fingerprints.
func named(name, text string) string {
	if name == "" {
		return text
	}
	return name + ": " + text
}
