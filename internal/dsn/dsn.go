// Package dsn handles PostgreSQL connection strings without leaking their
// passwords: redaction for messages, and rewriting the database name.
//
// Both forms libpq and pgx accept are handled: URLs
// (postgres://user:secret@host:5432/db?sslmode=disable) and keyword/value
// strings (host=/tmp user=postgres password='s e c' dbname=db).
package dsn

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/dbsuite/dbsuite/internal/suggest"
)

// Mask replaces a password in redacted output.
const Mask = "xxxxx"

// IsURL reports whether s is a URL-form connection string.
func IsURL(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns s with every password replaced by [Mask]. It does not
// depend on s being well-formed: in anything that looks like a URL (any
// scheme, any case, "postgres:/" with one slash, "jdbc:postgresql://"),
// whatever sits between the scheme and the last '@' is hidden after the
// user name, and the value of every key that looks like a password
// (password, pasword, passwd, pwd, secret ...) is hidden too.
func Redact(s string) string {
	if schemeRE.MatchString(s) {
		// Keys first: a password value may hold the '@'.
		s = redactKeys(s)
		if loc := schemeRE.FindStringIndex(s); loc != nil {
			return s[:loc[1]] + redactUserinfo(s[loc[1]:])
		}
		return s
	}
	return redactKV(s)
}

// RedactText returns text, such as a driver's error, with every password
// of every connection string it quotes replaced by [Mask], as [Redact]
// does for one connection string. A URL ends at white space.
func RedactText(text string) string {
	return wordRE.ReplaceAllStringFunc(redactKeys(text), func(w string) string {
		if loc := schemeRE.FindStringIndex(w); loc != nil {
			return w[:loc[1]] + redactUserinfo(w[loc[1]:])
		}
		return redactUserinfo(w) // user:secret@host without a scheme
	})
}

var wordRE = regexp.MustCompile(`\S+`)

// schemeRE finds where a URL's authority starts: after "scheme:/" or
// "scheme://", any scheme (even an empty or invalid one), any case.
var schemeRE = regexp.MustCompile(`[A-Za-z0-9+.\-_]*:/+`)

var identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_\-]*$`)

// keyStartRE finds a key and its '=' (with optional spaces), in a URL's
// query or a keyword/value string; valueRE reads the value after it,
// optionally quoted.
var (
	keyStartRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9_\-]*)\s*=\s*`)
	valueRE    = regexp.MustCompile(`^(?:'(?:[^'\\]|\\.)*'?|"[^"]*"?|[^\s&;,'"` + "`" + `]+)`)
)

// redactUserinfo hides, in rest (what follows "scheme://"), the password
// before the last '@': user:secret@host becomes user:xxxxx@host. Without
// ':' the part before '@' is a user name and is kept.
func redactUserinfo(rest string) string {
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return rest
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return rest
	}
	return user + ":" + Mask + rest[at:]
}

// redactKeys hides the value of every key that looks like a password.
// Keys are found without consuming values, so that "user= password = x"
// still finds password.
func redactKeys(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range keyStartRE.FindAllStringSubmatchIndex(s, -1) {
		if m[0] < last || !PasswordKey(s[m[2]:m[3]]) {
			continue
		}
		v := valueRE.FindStringIndex(s[m[1]:])
		if v == nil {
			continue
		}
		b.WriteString(s[last:m[1]])
		b.WriteString(Mask)
		last = m[1] + v[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// PasswordKey reports whether a connection parameter's name looks like a
// password's, misspelt or not: password, pasword, passwd, pwd, passfile is
// not one (it names a file), secret, token.
func PasswordKey(key string) bool {
	k := strings.ToLower(key)
	switch {
	case k == "passfile":
		return false
	case strings.Contains(k, "pass"), strings.Contains(k, "pasw"), strings.Contains(k, "pw"),
		strings.Contains(k, "secret"), strings.Contains(k, "token"):
		return true
	}
	return suggest.Distance(k, "password") <= 2
}

// Secrets returns every value in s that may be a password, as written and
// decoded: the part of a URL between the user name and the last '@', and
// the value of every key that looks like a password. Pass them to [Scrub]
// to clean text that may quote them, such as a driver's error.
func Secrets(s string) []string {
	var out []string
	add := func(v string) {
		// Decoded first: the password as the server knows it.
		for _, decode := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if d, err := decode(v); err == nil && d != "" && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if schemeRE.MatchString(s) {
		// Keys first, as Redact does: a password value may hold the '@'.
		rest := redactKeys(s)
		if loc := schemeRE.FindStringIndex(rest); loc != nil {
			rest = rest[loc[1]:]
		}
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok && !strings.Contains(pw, Mask) {
				add(pw)
			}
		}
	} else {
		for _, kv := range splitKV(s) {
			switch {
			case kv.bare:
				if at := strings.LastIndexByte(kv.key, '@'); at >= 0 {
					if _, pw, ok := strings.Cut(kv.key[:at], ":"); ok {
						add(pw)
					}
				}
			case PasswordKey(kv.key):
				add(kv.value)
			}
		}
	}
	for _, m := range keyStartRE.FindAllStringSubmatchIndex(s, -1) {
		if v := valueRE.FindString(s[m[1]:]); v != "" && PasswordKey(s[m[2]:m[3]]) {
			if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
				v = strings.Trim(v, `'"`)
			}
			add(v)
		}
	}
	return out
}

// Scrub replaces every occurrence of each secret (and of its URL-escaped
// form) in msg with [Mask]. Use it on text that may quote a connection
// string, such as a driver's error. Secrets shorter than 3 bytes are left
// alone, or any message would be mangled; [Redact] still hides them where
// they appear as a password field.
func Scrub(msg string, secrets ...string) string {
	// Longest first: one secret may hold another.
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, Mask)
			// Percent-encoded forms, as they appear in URLs.
			for _, e := range []string{url.QueryEscape(s), url.PathEscape(s)} {
				if e != s {
					msg = strings.ReplaceAll(msg, e, Mask)
				}
			}
		}
	}
	return msg
}

// Validate checks that s is a connection string pgx reads as intended:
// keyword/value pairs, or a URL whose scheme is postgres or postgresql. A
// URL's scheme is lower-cased (pgx reads "Postgres://..." as keyword/value
// pairs and connects to the default socket); any other scheme, and
// "postgres:/" with one slash, is an error naming the scheme; it does not
// quote s (print [Redact] of it beside the error).
func Validate(s string) (string, error) {
	t := strings.TrimSpace(s)
	loc := schemeRE.FindStringIndex(t)
	if loc == nil {
		if i := strings.IndexByte(t, ':'); i > 0 && !strings.ContainsAny(t[:i], "= \t'") {
			return "", fmt.Errorf("scheme %q without //, want postgres:// or postgresql://", t[:i])
		}
		return t, nil
	}
	if loc[0] > 0 {
		return "", fmt.Errorf("%q before the URL, want it to start with postgres:// or postgresql://", t[:loc[0]])
	}
	scheme, slashes, _ := strings.Cut(t[:loc[1]], ":")
	lower := strings.ToLower(scheme)
	if lower != "postgres" && lower != "postgresql" {
		return "", fmt.Errorf("scheme %q, want postgres:// or postgresql://", scheme)
	}
	if slashes != "//" {
		return "", fmt.Errorf("%q, want %s://", scheme+":"+slashes, lower)
	}
	return lower + t[len(scheme):], nil
}

// Param returns the value of a connection parameter such as "sslmode",
// from a URL's query or a keyword/value string, or "" when s has none.
func Param(s, key string) string {
	if IsURL(s) {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return ""
		}
		return u.Query().Get(key)
	}
	v := ""
	for _, kv := range splitKV(s) {
		if kv.key == key && !kv.bare {
			v = kv.value // the last one wins, as in libpq
		}
	}
	return v
}

// WithDatabase returns s with its database name set to db.
func WithDatabase(s, db string) (string, error) {
	if db == "" {
		return "", errors.New("dsn: empty database name")
	}
	if IsURL(s) {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return "", errors.New("dsn: not a valid URL: " + Redact(s))
		}
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", db)
			u.RawQuery = q.Encode()
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	kvs := splitKV(s)
	var b strings.Builder
	found := false
	for _, kv := range kvs {
		if kv.key == "dbname" {
			kv.value = db
			found = true
		}
		writeKV(&b, kv)
	}
	if !found {
		writeKV(&b, keyValue{key: "dbname", value: db})
	}
	return b.String(), nil
}

// KV builds a keyword/value connection string from pairs, quoting values as
// libpq requires. Pairs with an empty value are left out.
func KV(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		writeKV(&b, keyValue{key: pairs[i], value: pairs[i+1]})
	}
	return b.String()
}

type keyValue struct {
	key, value string
	bare       bool // a token without '=' (malformed input), kept verbatim
}

func redactKV(s string) string {
	// Text first, then token by token: either catches what the other
	// misreads when quotes or keys are out of place.
	s = redactKeys(s)
	var b strings.Builder
	prev := false // the token before looked like a password's key
	for _, kv := range splitKV(s) {
		// "user= password = x" reads as user=password, then = x.
		passwordish := kv.bare && identRE.MatchString(kv.key) && PasswordKey(kv.key) ||
			!kv.bare && identRE.MatchString(kv.value) && PasswordKey(kv.value)
		switch {
		case !kv.bare && (PasswordKey(kv.key) || kv.key == "" || prev):
			// A key missing or misplaced ("user= password = x"): mask.
			kv.value = Mask
		case kv.bare:
			kv.key = redactKeys(redactUserinfo(kv.key)) // user:secret@host without a scheme
		default:
			kv.value = redactKeys(kv.value) // "user= password='x'" reads as user="password='x'"
		}
		prev = passwordish
		writeKV(&b, kv)
	}
	return b.String()
}

func writeKV(b *strings.Builder, kv keyValue) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if kv.bare {
		b.WriteString(kv.key)
		return
	}
	b.WriteString(kv.key)
	b.WriteByte('=')
	if kv.value != "" && !strings.ContainsAny(kv.value, ` '\`) {
		b.WriteString(kv.value)
		return
	}
	b.WriteByte('\'')
	for _, r := range kv.value {
		if r == '\'' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
}

// splitKV tokenises a keyword/value string the way libpq does: key = value,
// values optionally single-quoted with backslash escapes. Malformed input
// never fails; unparseable tokens come back as bare tokens, and anything
// after a dangling "password" keyword is treated as the password.
func splitKV(s string) []keyValue {
	var out []keyValue
	i, n := 0, len(s)
	skipSpace := func() {
		for i < n && isSpace(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i >= n {
			return out
		}
		start := i
		for i < n && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		skipSpace()
		if i >= n || s[i] != '=' {
			if identRE.MatchString(key) && PasswordKey(key) {
				// "password" with no '=': treat the rest as secret.
				out = append(out, keyValue{key: key, value: strings.TrimSpace(s[i:])})
				return out
			}
			out = append(out, keyValue{key: key, bare: true})
			continue
		}
		i++ // '='
		skipSpace()
		var val strings.Builder
		if i < n && s[i] == '\'' {
			i++
			for i < n && s[i] != '\'' {
				if s[i] == '\\' && i+1 < n {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
			if i < n {
				i++ // closing quote
			}
		} else {
			for i < n && !isSpace(s[i]) {
				if s[i] == '\\' && i+1 < n {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
		}
		out = append(out, keyValue{key: key, value: val.String()})
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
