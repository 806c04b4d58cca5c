// Package dsn handles PostgreSQL connection strings without leaking their
// passwords: redaction for messages, and rewriting the database name.
//
// Both forms libpq and pgx accept are handled: URLs
// (postgres://user:secret@host:5432/db?sslmode=disable) and keyword/value
// strings (host=/tmp user=postgres password='s e c' dbname=db).
package dsn

import (
	"errors"
	"net/url"
	"strings"
)

// Mask replaces a password in redacted output.
const Mask = "xxxxx"

// IsURL reports whether s is a URL-form connection string.
func IsURL(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns s with every password replaced by [Mask]. It never fails:
// input it cannot parse is redacted token by token, and a URL whose userinfo
// it cannot find keeps only its scheme and host part.
func Redact(s string) string {
	if IsURL(s) {
		return redactURL(s)
	}
	return redactKV(s)
}

// Password returns the password s carries, or "" when it has none. It is best
// effort and meant for scrubbing a secret out of other text (see [Scrub]).
func Password(s string) string {
	if IsURL(s) {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return urlPasswordFallback(s)
		}
		if p, ok := u.User.Password(); ok {
			return p
		}
		return u.Query().Get("password")
	}
	for _, kv := range splitKV(s) {
		if kv.key == "password" {
			return kv.value
		}
	}
	return ""
}

// Scrub replaces every occurrence of each secret (and of its URL-escaped
// form) in msg with [Mask]. Use it on text that may quote a connection
// string, such as a driver's error. Secrets shorter than 3 bytes are left
// alone, or any message would be mangled; [Redact] still hides them where
// they appear as a password field.
func Scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, Mask)
			// Percent-encoded form, as it appears in URLs.
			if e := url.QueryEscape(s); e != s {
				msg = strings.ReplaceAll(msg, e, Mask)
			}
		}
	}
	return msg
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

func redactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.User == nil && !u.Query().Has("password") {
		if err != nil {
			return redactURLFallback(s)
		}
		return u.String()
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", Mask)
		u.RawQuery = q.Encode()
	}
	// url.String escapes the mask's characters in userinfo; it has none.
	return u.String()
}

// redactURLFallback handles URLs net/url rejects: it keeps the scheme and
// drops everything between "//" and the last '@' of the authority.
func redactURLFallback(s string) string {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(s), "://")
	authEnd := strings.IndexAny(rest, "/?")
	auth, tail := rest, ""
	if authEnd >= 0 {
		auth, tail = rest[:authEnd], rest[authEnd:]
	}
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		user, _, _ := strings.Cut(auth[:at], ":")
		auth = user + ":" + Mask + auth[at:]
	}
	if i := strings.Index(tail, "password="); i >= 0 {
		end := strings.IndexByte(tail[i:], '&')
		if end < 0 {
			tail = tail[:i] + "password=" + Mask
		} else {
			tail = tail[:i] + "password=" + Mask + tail[i+end:]
		}
	}
	return scheme + "://" + auth + tail
}

func urlPasswordFallback(s string) string {
	_, rest, _ := strings.Cut(strings.TrimSpace(s), "://")
	if end := strings.IndexAny(rest, "/?"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return ""
	}
	if p, err := url.PathUnescape(pw); err == nil {
		return p
	}
	return pw
}

type keyValue struct {
	key, value string
	bare       bool // a token without '=' (malformed input), kept verbatim
}

func redactKV(s string) string {
	var b strings.Builder
	for _, kv := range splitKV(s) {
		if kv.key == "password" {
			kv.value = Mask
		}
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
			if key == "password" {
				// "password" with no '=': treat the rest as secret.
				out = append(out, keyValue{key: "password", value: strings.TrimSpace(s[i:])})
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
