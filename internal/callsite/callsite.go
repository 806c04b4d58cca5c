// Package callsite finds where in the user's code a database call came from. Capturing is cheap (program
// counters only, no allocation); resolving to files, lines and functions happens later, once per program counter.
//
// A frame is the user's unless it belongs to the Go runtime, testing, database/sql, a driver or query library
// (pgx, puddle, lib/pq, go-sqlmock, sqlx, scany ...), or dbsuite's own library code. dbsuite's tests and examples
// count as user code.
package callsite

import (
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Depth is how many frames [Capture] records: enough for the deepest application stacks in tests; frames past it
// are dropped from the outer end, the end farthest from the query.
const Depth = 32

// PCs holds captured program counters.
type PCs [Depth]uintptr

// Capture records the calling goroutine's stack into pcs, leaving out skip frames above Capture's caller, and
// returns how many it recorded. It does not allocate.
func Capture(skip int, pcs *PCs) int {
	return runtime.Callers(skip+2, pcs[:])
}

// Frame is one function call in a stack.
type Frame struct {
	File string // full path of the source file
	Line int
	Func string // full function name: "github.com/acme/shop.(*Store).List"
}

// String formats the frame the way failure messages show it: "store.go:38 (shop.(*Store).List)".
func (f Frame) String() string {
	if f.File == "" {
		return "(unknown call site)"
	}
	return path.Base(f.File) + ":" + strconv.Itoa(f.Line) + " (" + ShortFunc(f.Func) + ")"
}

// ShortFunc strips the import path from a function name, keeping the package name: "shop.(*Store).List".
func ShortFunc(fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

// Stack is the user's part of a captured stack.
type Stack struct {
	Frames []Frame // innermost (closest to the query) first
	Key    uint64  // the same for two stacks with the same user frames at the same lines; never 0 for a non-empty stack
}

// libraryPrefixes are function-name prefixes of code that is not the user's.
var libraryPrefixes = []string{
	"runtime.",
	"testing.",
	"reflect.",
	"sync.",
	"database/sql.",
	"database/sql/driver.",
	"github.com/jackc/pgx/",
	"github.com/jackc/puddle/",
	"github.com/lib/pq.",
	"github.com/DATA-DOG/go-sqlmock.",
	"github.com/jmoiron/sqlx.",
	"github.com/georgysavva/scany/",
	"github.com/Masterminds/squirrel.",
	"github.com/uptrace/bun.",
	"github.com/uptrace/bun/",
	"gorm.io/",
}

const (
	selfModule     = "github.com/dbsuite/dbsuite/"
	selfExamples   = "github.com/dbsuite/dbsuite/examples/"
	testFileSuffix = "_test.go"
)

// Resolver turns captured program counters into a [Stack]. The zero value treats the default library packages as
// library code. A Resolver is safe for concurrent use.
type Resolver struct {
	extra []string // more library prefixes
}

// NewResolver returns a Resolver that also treats functions whose names start with one of prefixes (import paths,
// "github.com/acme/dbutil") as library code, so the call site is the code that called them.
func NewResolver(prefixes ...string) *Resolver {
	return &Resolver{extra: prefixes}
}

// library reports whether a frame is library code.
func (r *Resolver) library(f Frame) bool {
	if f.Func == "" {
		return true
	}
	if r != nil {
		for _, p := range r.extra {
			if strings.HasPrefix(f.Func, p) {
				return true
			}
		}
	}
	if strings.HasPrefix(f.Func, selfModule) {
		return !strings.HasPrefix(f.Func, selfExamples) && !strings.HasSuffix(f.File, testFileSuffix)
	}
	for _, p := range libraryPrefixes {
		if strings.HasPrefix(f.Func, p) {
			return true
		}
	}
	return false
}

// frames caches the expansion of one program counter (several frames when calls were inlined).
var frames sync.Map // uintptr -> []Frame

func expand(pc uintptr) []Frame {
	if v, ok := frames.Load(pc); ok {
		return v.([]Frame)
	}
	var out []Frame
	it := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := it.Next()
		out = append(out, Frame{File: f.File, Line: f.Line, Func: f.Function})
		if !more {
			break
		}
	}
	frames.Store(pc, out)
	return out
}

// Resolve returns the user frames of pcs and their key.
func (r *Resolver) Resolve(pcs []uintptr) Stack {
	var s Stack
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	key := uint64(offset)
	for _, pc := range pcs {
		user := false
		for _, f := range expand(pc) {
			if r.library(f) {
				continue
			}
			user = true
			s.Frames = append(s.Frames, f)
		}
		if user {
			for v, i := uint64(pc), 0; i < 8; i++ {
				key ^= v & 0xff
				key *= prime
				v >>= 8
			}
		}
	}
	if len(s.Frames) > 0 {
		s.Key = key | 1
	}
	return s
}
