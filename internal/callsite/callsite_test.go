package callsite

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

// query stands in for a driver: it captures the stack of whoever called it, as a tracer does.
//
//go:noinline
func query() (PCs, int) {
	var pcs PCs
	n := Capture(0, &pcs)
	return pcs, n
}

func resolve(pcs PCs, n int) Stack { return NewResolver().Resolve(pcs[:n]) }

func line() int {
	_, _, l, _ := runtime.Caller(1)
	return l
}

func TestResolveCallSite(t *testing.T) {
	t.Parallel()
	want := line() + 1
	pcs, n := query()
	s := resolve(pcs, n)
	if len(s.Frames) < 2 {
		t.Fatalf("got %d user frames, want the query helper and this test: %v", len(s.Frames), s.Frames)
	}
	// query() lives in this _test.go file, so it is user code; the frame after it is this line.
	if got := s.Frames[0].Func; !strings.HasSuffix(got, "callsite.query") {
		t.Errorf("innermost frame %q, want callsite.query", got)
	}
	caller := s.Frames[1]
	if caller.Line != want || !strings.HasSuffix(caller.File, "callsite_test.go") {
		t.Errorf("caller %s, want callsite_test.go:%d", caller, want)
	}
	if got, wantStr := caller.String(), "(callsite.TestResolveCallSite)"; !strings.HasSuffix(got, wantStr) {
		t.Errorf("String() = %q, want suffix %q", got, wantStr)
	}
	for _, f := range s.Frames {
		if strings.HasPrefix(f.Func, "testing.") || strings.HasPrefix(f.Func, "runtime.") {
			t.Errorf("library frame %s kept", f)
		}
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	var loop []uint64
	for range 3 {
		pcs, n := query()
		loop = append(loop, resolve(pcs, n).Key)
	}
	pcsA, nA := query()
	pcsB, nB := query()
	a, b := resolve(pcsA, nA).Key, resolve(pcsB, nB).Key
	if loop[0] == 0 || loop[0] != loop[1] || loop[1] != loop[2] {
		t.Errorf("keys in one loop differ or are zero: %x", loop)
	}
	if a == b || a == loop[0] {
		t.Errorf("two call sites share a key: %x %x (loop %x)", a, b, loop[0])
	}
}

func TestLibrary(t *testing.T) {
	t.Parallel()
	r := NewResolver("github.com/acme/dbutil", "github.com/dbsuite/dbsuite/assertq_test.repo.")
	tests := []struct {
		name    string
		frame   Frame
		library bool
	}{
		{name: "runtime", frame: Frame{Func: "runtime.goexit", File: "/go/src/runtime/asm_amd64.s"}, library: true},
		{name: "testing", frame: Frame{Func: "testing.tRunner", File: "/go/src/testing/testing.go"}, library: true},
		{name: "database/sql", frame: Frame{Func: "database/sql.(*DB).QueryContext", File: "/go/src/database/sql/sql.go"}, library: true},
		{name: "pgx", frame: Frame{Func: "github.com/jackc/pgx/v5.(*Conn).Query", File: "/m/pgx/conn.go"}, library: true},
		{name: "pgxpool", frame: Frame{Func: "github.com/jackc/pgx/v5/pgxpool.(*Pool).QueryRow", File: "/m/pgx/pgxpool/pool.go"}, library: true},
		{name: "sqlmock", frame: Frame{Func: "github.com/DATA-DOG/go-sqlmock.(*sqlmock).QueryContext", File: "/m/sqlmock.go"}, library: true},
		{name: "dbsuite library", frame: Frame{Func: "github.com/dbsuite/dbsuite/assertq.(*Tracer).TraceQueryStart", File: "/w/assertq/pgx.go"}, library: true},
		{name: "dbsuite fixtures", frame: Frame{Func: "github.com/dbsuite/dbsuite/fixtures.Load", File: "/w/fixtures/load.go"}, library: true},
		{name: "dbsuite test", frame: Frame{Func: "github.com/dbsuite/dbsuite/assertq_test.TestX", File: "/w/assertq/x_test.go"}},
		{name: "dbsuite example", frame: Frame{Func: "github.com/dbsuite/dbsuite/examples/library.ListBooks", File: "/w/examples/library/books.go"}},
		{name: "user", frame: Frame{Func: "github.com/acme/shop.(*Store).List", File: "/src/shop/store.go"}},
		{name: "extra prefix", frame: Frame{Func: "github.com/acme/dbutil.Get", File: "/src/dbutil/get.go"}, library: true},
		{name: "extra prefix inside dbsuite tests", frame: Frame{Func: "github.com/dbsuite/dbsuite/assertq_test.repo.Get", File: "/w/assertq/x_test.go"}, library: true},
		{name: "sqlc generated", frame: Frame{Func: "github.com/acme/shop/db.(*Queries).GetAuthor", File: "/src/shop/db/query.sql.go"}, library: true},
		{name: "sqlc generated in an example", frame: Frame{Func: "github.com/dbsuite/dbsuite/examples/orm/sqlcdb.(*Queries).GetAuthor", File: "/w/examples/orm/sqlcdb/query.sql.go"}, library: true},
		{name: "gorm gen generated", frame: Frame{Func: "github.com/acme/shop/query.bookDo.First", File: "/src/shop/query/books.gen.go"}, library: true},
		{name: "sqlc's models are the user's", frame: Frame{Func: "github.com/acme/shop/db.Author.Name", File: "/src/shop/db/models.go"}},
		{name: "go test's generated main", frame: Frame{Func: "main.main", File: "/tmp/go-build1/b001/_testmain.go"}, library: true},
		{name: "a program's main", frame: Frame{Func: "main.main", File: "/src/shop/cmd/shop/main.go"}},
		{name: "unknown", frame: Frame{}, library: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.library(tt.frame); got != tt.library {
				t.Errorf("library(%s) = %v, want %v", tt.frame.Func, got, tt.library)
			}
		})
	}
}

func TestFrameString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame Frame
		want  string
	}{
		{name: "method", frame: Frame{File: "/src/shop/store.go", Line: 38, Func: "github.com/acme/shop.(*Store).List"}, want: "store.go:38 (shop.(*Store).List)"},
		{name: "std", frame: Frame{File: "/go/src/fmt/print.go", Line: 1, Func: "fmt.Println"}, want: "print.go:1 (fmt.Println)"},
		{name: "unknown", frame: Frame{}, want: "(unknown call site)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.frame.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

//go:noinline
func deep(n int, f func()) {
	if n == 0 {
		f()
		return
	}
	deep(n-1, f)
}

// BenchmarkCapture compares Capture with runtime.Callers, 20 frames below the benchmark.
func BenchmarkCapture(b *testing.B) {
	var pcs PCs
	b.Run("Capture", func(b *testing.B) {
		deep(20, func() {
			b.ReportAllocs()
			for b.Loop() {
				Capture(0, &pcs)
			}
		})
	})
	b.Run("runtime.Callers", func(b *testing.B) {
		deep(20, func() {
			b.ReportAllocs()
			for b.Loop() {
				runtime.Callers(1, pcs[:])
			}
		})
	})
}

func BenchmarkResolve(b *testing.B) {
	pcs, n := query()
	r := NewResolver()
	b.ReportAllocs()
	for b.Loop() {
		r.Resolve(pcs[:n])
	}
}

// inlined is small enough to be inlined into its caller: its frame exists only in the inline tables.
func inlined(f func()) { f() }

// TestCaptureMatchesRuntimeCallers checks the capture (frame pointers on amd64) against runtime.Callers: the same
// logical frames, inlined ones included.
func TestCaptureMatchesRuntimeCallers(t *testing.T) {
	t.Parallel()
	var got, want []string
	inlined(func() {
		var pcs PCs
		n := Capture(0, &pcs)
		var ref [Depth]uintptr
		m := runtime.Callers(1, ref[:])
		for _, pc := range pcs[:n] {
			for _, f := range expand(pc) {
				got = append(got, f.Func)
			}
		}
		it := runtime.CallersFrames(ref[:m])
		for {
			f, more := it.Next()
			want = append(want, f.Function)
			if !more {
				break
			}
		}
	})
	// runtime.Callers leaves out the wrappers the go statement makes; a frame-pointer walk sees them.
	got = slices.DeleteFunc(got, func(f string) bool { return strings.Contains(f, ".gowrap") })
	if !slices.Equal(got, want) {
		t.Errorf("Capture frames\n%q\nwant (runtime.Callers)\n%q", got, want)
	}
	if !slices.Contains(got, "github.com/dbsuite/dbsuite/internal/callsite.inlined") {
		t.Errorf("inlined frame missing: %q", got)
	}
}

func TestIntern(t *testing.T) {
	t.Parallel()
	a := Intern([]uintptr{1, 2, 3})
	if b := Intern([]uintptr{1, 2, 3}); b != a {
		t.Errorf("equal stacks not shared: %p %p", a, b)
	}
	if c := Intern([]uintptr{1, 2, 4}); c == a || !slices.Equal(c.PCs, []uintptr{1, 2, 4}) {
		t.Errorf("different stacks shared or wrong: %v", c.PCs)
	}
	buf := []uintptr{7, 8}
	d := Intern(buf)
	buf[0] = 9
	if d.PCs[0] != 7 {
		t.Error("Intern kept the caller's slice")
	}
}

func BenchmarkIntern(b *testing.B) {
	pcs, n := query()
	Intern(pcs[:n])
	b.ReportAllocs()
	for b.Loop() {
		Intern(pcs[:n])
	}
}
