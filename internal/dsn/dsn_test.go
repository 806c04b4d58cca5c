package dsn

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"url", "postgres://bob:s3cret@db:5432/app?sslmode=disable", "postgres://bob:xxxxx@db:5432/app?sslmode=disable"},
		{"url without password", "postgres://bob@db/app", "postgres://bob@db/app"},
		{"url query password", "postgresql://db/app?password=s3cret&sslmode=disable", "postgresql://db/app?password=xxxxx&sslmode=disable"},
		{"url unparseable", "postgres://bob:s3%zz@db/app", "postgres://bob:xxxxx@db/app"},
		{"kv", "host=/tmp user=bob password=s3cret dbname=app", "host=/tmp user=bob password=xxxxx dbname=app"},
		{"kv quoted", `host=/tmp password='s 3\'c' dbname=app`, "host=/tmp password=xxxxx dbname=app"},
		{"kv spaces around =", "password = s3cret host=x", "password=xxxxx host=x"},
		{"kv dangling", "host=x password", "host=x password=xxxxx"},
		{"kv dangling with value after space", "host=x password s3cret", "host=x password=xxxxx"},
		{"kv unterminated quote", "password='s3cret", "password=xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Redact(tt.in)
			if got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "s3") {
				t.Errorf("Redact(%q) = %q still holds the password", tt.in, got)
			}
		})
	}
}

// TestPassword: the first of Secrets is the password s carries.
func TestPassword(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"url", "postgres://bob:s%40cret@db/app", "s@cret"},
		{"url query", "postgres://db/app?password=pw1", "pw1"},
		{"url none", "postgres://db/app", ""},
		{"kv quoted", `user=bob password='a b\'c'`, "a b'c"},
		{"kv none", "user=bob", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ""
			if sec := Secrets(tt.in); len(sec) > 0 {
				got = sec[0]
			}
			if got != tt.want {
				t.Errorf("Secrets(%q)[0] = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ name, in, db, want string }{
		{"url", "postgres://bob:pw@db:5432/app?sslmode=disable", "t1", "postgres://bob:pw@db:5432/t1?sslmode=disable"},
		{"url no path", "postgres://bob@db", "t1", "postgres://bob@db/t1"},
		{"url dbname param", "postgres://db/?dbname=app", "t1", "postgres://db/t1?dbname=t1"},
		{"kv replace", "host=/tmp dbname=app user=bob", "t1", "host=/tmp dbname=t1 user=bob"},
		{"kv append", "host=/tmp user=bob", "t1", "host=/tmp user=bob dbname=t1"},
		{"kv quoting kept", `host=/tmp password='a b'`, "t 1", `host=/tmp password='a b' dbname='t 1'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := WithDatabase(tt.in, tt.db)
			if err != nil {
				t.Fatalf("WithDatabase(%q, %q): %v", tt.in, tt.db, err)
			}
			if got != tt.want {
				t.Errorf("WithDatabase(%q, %q) = %q, want %q", tt.in, tt.db, got, tt.want)
			}
			// pgx must read back what we wrote.
			cfg, err := pgconn.ParseConfig(got)
			if err != nil {
				t.Fatalf("pgconn.ParseConfig(%q): %v", got, err)
			}
			if cfg.Database != tt.db {
				t.Errorf("pgx reads database %q from %q, want %q", cfg.Database, got, tt.db)
			}
		})
	}
}

func TestParam(t *testing.T) {
	tests := []struct{ name, in, key, want string }{
		{"url", "postgres://u@h/db?sslmode=disable&x=1", "sslmode", "disable"},
		{"url absent", "postgres://u@h/db", "sslmode", ""},
		{"kv", "host=/tmp sslmode=require dbname=x", "sslmode", "require"},
		{"kv last wins", "sslmode=require sslmode='verify-full'", "sslmode", "verify-full"},
		{"kv absent", "host=/tmp", "sslmode", ""},
		{"kv other key's value", "application_name=sslmode=x", "sslmode", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Param(tt.in, tt.key); got != tt.want {
				t.Errorf("Param(%q, %q) = %q, want %q", tt.in, tt.key, got, tt.want)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	msg := "failed to connect to `user=bob database=app`: password authentication failed (pw=hunter2, url-escaped hunter%212)"
	got := Scrub(msg, "hunter2", "hunter!2", "ab")
	if strings.Contains(got, "hunter") {
		t.Errorf("Scrub left a secret: %q", got)
	}
	if !strings.Contains(got, "ab") {
		t.Errorf("Scrub replaced a 2-byte secret, mangling the message: %q", got)
	}
}

// TestRedactMalformed: the forms the audit found printed in clear, each
// built around one secret that must not survive, whole or in part.
func TestRedactMalformed(t *testing.T) {
	const pw = "Hunter2@Sec/ret?x"
	tests := []struct{ name, in string }{
		{"capital scheme", "Postgres://bob:" + pw + "@db:5432/app"},
		{"misspelt scheme", "postgress://bob:" + pw + "@db/app"},
		{"one slash", "postgres:/bob:" + pw + "@db/app"},
		{"other scheme", "mysql://bob:" + pw + "@db/app"},
		{"jdbc query", "jdbc:postgresql://db:5432/app?user=bob&password=" + pw + "&ssl=false"},
		{"misspelt key", "postgres://db/app?user=bob&pasword=" + pw},
		{"misspelt kv key", "host=db user=bob pasword=" + pw},
		{"passwd kv key", "host=db passwd='" + pw + "'"},
		{"unencoded @ in password", "postgres://bob:" + pw + "@db/app"},
		{"no scheme", "bob:" + pw + "@db"},
		{"spaces in password", "postgres://bob:a b " + pw + "@db/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []string{Redact(tt.in)}
			if !strings.Contains(tt.in, " ") {
				// In free text a URL ends at a space; Scrub with Secrets covers the rest.
				got = append(got, RedactText("error: cannot use "+tt.in+" here"))
			}
			got = append(got, Scrub("error: "+tt.in, Secrets(tt.in)...))
			for _, got := range got {
				if strings.Contains(got, "Hunter2") || strings.Contains(got, "Sec/ret") {
					t.Errorf("redacted %q = %q: the password shows", tt.in, got)
				}
				if !strings.Contains(got, "db") {
					t.Errorf("redacted %q = %q: the host is gone too", tt.in, got)
				}
			}
			if !slices.ContainsFunc(Secrets(tt.in), func(s string) bool { return strings.Contains(s, "Hunter2") }) {
				t.Errorf("Secrets(%q) = %q: the password is not among them", tt.in, Secrets(tt.in))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct{ name, in, want, wantErr string }{
		{"url", "postgres://bob@db/app", "postgres://bob@db/app", ""},
		{"postgresql", " postgresql://db/app ", "postgresql://db/app", ""},
		{"capital scheme", "Postgres://bob:pw123@db/app", "postgres://bob:pw123@db/app", ""},
		{"kv", "host=/tmp user=bob", "host=/tmp user=bob", ""},
		{"kv with a colon", "host=/tmp application_name='a:b'", "host=/tmp application_name='a:b'", ""},
		{"misspelt scheme", "postgress://bob:pw123@db/app", "", `scheme "postgress", want postgres:// or postgresql://`},
		{"other scheme", "MySQL://bob:pw123@db/app", "", `scheme "MySQL", want postgres:// or postgresql://`},
		{"one slash", "postgres:/bob:pw123@db/app", "", `"postgres:/", want postgres://`},
		{"jdbc", "jdbc:postgresql://db/app?password=pw123", "", `"jdbc:" before the URL, want it to start with postgres:// or postgresql://`},
		{"no slashes", "postgres:bob:pw123@db", "", `scheme "postgres" without //, want postgres:// or postgresql://`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Validate(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Validate(%q) = %q, %v, want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Validate(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPasswordKey(t *testing.T) {
	for _, k := range []string{"password", "PASSWORD", "pasword", "passwrod", "passwd", "pwd", "db_pw", "sslpassword", "secret", "token"} {
		if !PasswordKey(k) {
			t.Errorf("PasswordKey(%q) = false, want true", k)
		}
	}
	for _, k := range []string{"passfile", "host", "user", "dbname", "sslmode", "port"} {
		if PasswordKey(k) {
			t.Errorf("PasswordKey(%q) = true, want false", k)
		}
	}
}

// FuzzRedact checks the property that matters: for any string built
// around a known secret, in any of the places a password goes, neither
// Redact nor RedactText shows it, and Secrets finds it. It also never
// panics on arbitrary input.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"s3cret", "a@b", "p/q?r", "x y", "'q'", "%zz", "@@"} {
		for i := range templates {
			f.Add(s, "postgres", uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, noise, scheme string, which uint8) {
		_, _ = WithDatabase(noise, "db")
		_ = Redact(noise)
		secret := SecretFor(noise)
		in := fmt.Sprintf(templates[int(which)%len(templates)], scheme, secret)
		for _, got := range []string{Redact(in), RedactText("msg " + in + " end")} {
			if Leaks(got, secret) {
				t.Fatalf("redacted %q = %q: the secret %q shows", in, got, secret)
			}
		}
	})
}
