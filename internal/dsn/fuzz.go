package dsn

import "strings"

// The helpers below build connection strings around a known secret for
// the property tests of dbsuite's packages: for any such string, no
// message may show the secret. They are not meant for production code.

// templates place a secret (second verb) where passwords go, after a
// scheme (first verb), well-formed or not.
var templates = []string{
	"%s://bob:%s@127.0.0.1:1/postgres?sslmode=disable",
	"%s:/bob:%s@127.0.0.1:1/postgres",
	"jdbc:%s://127.0.0.1:1/postgres?user=bob&password=%s&sslmode=disable",
	"%s://127.0.0.1:1/postgres?pasword=%s",
	"%s://bob@127.0.0.1:1/postgres?sslmode=disable&password=%s",
	"host=127.0.0.1 port=1 user=%s password='%s' sslmode=disable",
	"host=127.0.0.1 port=1 user=%s pasword=%s",
	"host=127.0.0.1 port=1 user=%s passwd = %s",
}

// Templates returns the connection-string shapes a secret is placed in:
// fmt formats with a scheme (or user) and the secret.
func Templates() []string { return append([]string(nil), templates...) }

// SecretFor makes a secret from fuzz input: marked at both ends so that it
// cannot be an ordinary part of a message, free of white space and of the
// quote that would end a keyword/value value (the fuzz input's other
// characters, '@', '/', '?', '&', '%', ':', stay).
func SecretFor(noise string) string {
	clean := strings.Map(func(r rune) rune {
		if r <= ' ' || r == '\'' || r == '\\' || r == 0x7f || r > 0x7e {
			return -1
		}
		return r
	}, noise)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return "Zq8" + clean + "vK3"
}

// Leaks reports whether text shows secret, whole or all but its first or
// last character, as written or URL-encoded.
func Leaks(text, secret string) bool {
	for _, s := range []string{secret, secret[1:], secret[:len(secret)-1]} {
		if strings.Contains(text, s) {
			return true
		}
		if e := strings.NewReplacer("@", "%40", ":", "%3A", "/", "%2F").Replace(s); e != s && strings.Contains(text, e) {
			return true
		}
	}
	return false
}
