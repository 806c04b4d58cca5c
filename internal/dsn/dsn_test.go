package dsn

import (
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
			if got := Password(tt.in); got != tt.want {
				t.Errorf("Password(%q) = %q, want %q", tt.in, got, tt.want)
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

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"postgres://bob:s3cret@db:5432/app?sslmode=disable",
		"host=/tmp user=bob password='x y' dbname=app",
		"password",
		"postgres://a:b@c@d/e?password=f",
		"postgresql://%zz",
		"password='unterminated",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		pw := Password(s)
		if len(pw) >= 4 && !strings.Contains(Mask, pw) && strings.Contains(r, pw) {
			// Only a failure when the password is not also an ordinary part
			// of the rest of the string (user or host equal to the password).
			rest := strings.Replace(s, pw, "", 1)
			if !strings.Contains(rest, pw) {
				t.Errorf("Redact(%q) = %q leaks password %q", s, r, pw)
			}
		}
		_, _ = WithDatabase(s, "db")
	})
}
