package settings_test

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/settings"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/copier"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/origin"
)

// TestOverrideIsSeenAndRestored overrides each kind of configuration that origin builds Summary from, and
// checks that origin (which derives the value) and copier (which copied it) both see the override, and
// that everything is as before once the subtest has ended.
func TestOverrideIsSeenAndRestored(t *testing.T) {
	tests := []struct {
		name     string
		override func(t *testing.T)
		want     string // in origin.Summary and copier.Copy during the test
	}{
		{"Setenv", func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "bonjour") }, `greeting="bonjour"`},
		{"Setenv empty", func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "") }, `greeting=""`},
		{"Unsetenv", func(t *testing.T) {
			settings.Setenv(t, "ORIGIN_GREETING", "bonjour")
			settings.Unsetenv(t, "ORIGIN_GREETING")
		}, `greeting="hello"`},
		{"SetFlag on flag.CommandLine", func(t *testing.T) { settings.SetFlag(t, nil, "origin-region", "us") }, "region=us"},
		{"SetFlag on a flag set", func(t *testing.T) { settings.SetFlag(t, origin.Flags, "speed", "9") }, "speed=9"},
		{"SetValue", func(t *testing.T) { settings.SetValue(t, origin.Config, "paint.color", "red") }, "color=red "},
		{"UnsetValue", func(t *testing.T) { settings.UnsetValue(t, origin.Config, "paint.color") }, "color= "},
		{"Replace", func(t *testing.T) { settings.Replace(t, "origin.Limit", &origin.Limit, 3) }, "limit=3"},
		{"several keys", func(t *testing.T) {
			settings.Setenv(t, "ORIGIN_GREETING", "hola")
			settings.SetFlag(t, nil, "origin-region", "ar")
			settings.Replace(t, "origin.Limit", &origin.Limit, 0)
		}, `greeting="hola" region=ar speed=3 color=green limit=0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.override(t)
			if !strings.Contains(origin.Summary, tt.want) {
				t.Errorf("origin.Summary = %s, want it to contain %s", origin.Summary, tt.want)
			}
			if copier.Copy != origin.Summary {
				t.Errorf("copier.Copy = %s, want the copy of origin.Summary %s", copier.Copy, origin.Summary)
			}
		})
		checkRestored(t)
	}
}

// TestUnsetIsNotEmpty checks that Unsetenv makes a variable absent, Setenv(key, "") present and empty,
// and that each is restored to what it was, set or not.
func TestUnsetIsNotEmpty(t *testing.T) {
	tests := []struct {
		name    string
		outer   func(t *testing.T) // runs before inner, in the parent test
		inner   func(t *testing.T)
		wantSet bool
	}{
		{"empty over unset", func(*testing.T) {}, func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "") }, true},
		{"unset over unset", func(*testing.T) {}, func(t *testing.T) { settings.Unsetenv(t, "ORIGIN_GREETING") }, false},
		{"unset over set", func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "outer") },
			func(t *testing.T) { settings.Unsetenv(t, "ORIGIN_GREETING") }, false},
		{"empty over set", func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "outer") },
			func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "") }, true},
		{"unset value over loaded", func(*testing.T) {}, func(t *testing.T) { settings.UnsetValue(t, origin.Config, "paint.color") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.outer(t)
			greeting, wasSet := os.LookupEnv("ORIGIN_GREETING")
			color, colorWasSet := origin.Config.Lookup("paint.color")
			t.Run("inner", func(t *testing.T) {
				tt.inner(t)
				_, envSet := os.LookupEnv("ORIGIN_GREETING")
				_, colorSet := origin.Config.Lookup("paint.color")
				if strings.Contains(tt.name, "value") {
					envSet = colorSet
				}
				if envSet != tt.wantSet {
					t.Errorf("set = %v, want %v", envSet, tt.wantSet)
				}
			})
			if g, ok := os.LookupEnv("ORIGIN_GREETING"); g != greeting || ok != wasSet {
				t.Errorf("after the subtest ORIGIN_GREETING = %q (set %v), want %q (set %v)", g, ok, greeting, wasSet)
			}
			if c, ok := origin.Config.Lookup("paint.color"); c != color || ok != colorWasSet {
				t.Errorf("after the subtest paint.color = %q (set %v), want %q (set %v)", c, ok, color, colorWasSet)
			}
		})
		checkRestored(t)
	}
}

// TestNestedOverrides overrides the same key in a test, again in the same test, and in a subtest: each
// restore goes back one level, and the derived values follow at every level.
func TestNestedOverrides(t *testing.T) {
	settings.Setenv(t, "ORIGIN_GREETING", "outer")
	settings.Setenv(t, "ORIGIN_GREETING", "outer again")
	want := func(t *testing.T, greeting string) {
		t.Helper()
		sub := `greeting="` + greeting + `"`
		if !strings.Contains(origin.Summary, sub) || copier.Copy != origin.Summary {
			t.Errorf("origin.Summary = %s, copier.Copy = %s; want both to contain %s", origin.Summary, copier.Copy, sub)
		}
	}
	want(t, "outer again")
	t.Run("level 1", func(t *testing.T) {
		settings.Setenv(t, "ORIGIN_GREETING", "inner")
		want(t, "inner")
		t.Run("level 2", func(t *testing.T) {
			settings.Unsetenv(t, "ORIGIN_GREETING")
			want(t, "hello")
		})
		want(t, "inner")
	})
	want(t, "outer again")
}

// TestReinitialisersFollowKeys checks that an override runs the reinitialisers that declared its key, and
// those After one that ran, and no others, once each, and again at the end of the test.
func TestReinitialisersFollowKeys(t *testing.T) {
	tests := []struct {
		name     string
		override func(t *testing.T)
		want     map[string]int // runs during the test; the same again at the end
	}{
		{"env key of origin", func(t *testing.T) { settings.Setenv(t, "ORIGIN_GREETING", "x") },
			map[string]int{"origin": 1, "copier": 1}},
		{"flag key of origin", func(t *testing.T) { settings.SetFlag(t, origin.Flags, "speed", "1") },
			map[string]int{"origin": 1, "copier": 1}},
		{"setting key", func(t *testing.T) { settings.Set(t, origin.Level, 4) },
			map[string]int{"origin.level": 1, "OnChange(ORIGIN_LEVEL)": 1}},
		{"env key of a setting", func(t *testing.T) { settings.Setenv(t, "ORIGIN_LEVEL", "4") },
			map[string]int{"origin.level": 1, "OnChange(ORIGIN_LEVEL)": 1}},
		{"two keys of origin", func(t *testing.T) {
			settings.Setenv(t, "ORIGIN_GREETING", "x")
			settings.SetValue(t, origin.Config, "paint.color", "blue")
		}, map[string]int{"origin": 2, "copier": 2}},
		{"key nobody declared", func(t *testing.T) { settings.Setenv(t, "SETTINGS_TEST_NOBODY", "x") },
			map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := maps.Clone(origin.Runs)
			t.Run("override", func(t *testing.T) {
				tt.override(t)
				if got := delta(start, origin.Runs); !maps.Equal(got, tt.want) {
					t.Errorf("reinitialiser runs = %v, want %v", got, tt.want)
				}
			})
			// At the end, the keys are restored and each reinitialiser runs once more, even for two keys.
			want := map[string]int{}
			for k := range tt.want {
				want[k] = tt.want[k] + 1
				if strings.HasPrefix(tt.name, "two") {
					want[k] = 3
				}
			}
			if got := delta(start, origin.Runs); !maps.Equal(got, want) {
				t.Errorf("reinitialiser runs after the test = %v, want %v", got, want)
			}
		})
	}
	checkRestored(t)
}

func delta(start, now map[string]int) map[string]int {
	d := map[string]int{}
	for k, v := range now {
		if v != start[k] {
			d[k] = v - start[k]
		}
	}
	return d
}

// TestParallelIsRefused checks that an override fails at once in a parallel test and in a subtest of one,
// with a message that says why and what to do, and changes nothing.
func TestParallelIsRefused(t *testing.T) {
	tests := []struct {
		name     string
		override func(tb testing.TB)
	}{
		{"Setenv", func(tb testing.TB) { settings.Setenv(tb, "ORIGIN_GREETING", "x") }},
		{"Replace", func(tb testing.TB) { settings.Replace(tb, "origin.Limit", &origin.Limit, 1) }},
	}
	check := func(t *testing.T, name string, override func(testing.TB)) {
		runs := maps.Clone(origin.Runs)
		f := newFake(t, "")
		f.Run(func(testing.TB) { override(f) })
		f.Finish()
		if !f.Stopped() {
			t.Fatalf("the override did not stop the test; want a Fatalf")
		}
		golden(t, "parallel_"+name, errorText(f))
		if _, set := os.LookupEnv("ORIGIN_GREETING"); set || origin.Limit != 10 {
			t.Errorf("the refused override changed the state: ORIGIN_GREETING set %v, origin.Limit %d", set, origin.Limit)
		}
		if !maps.Equal(runs, origin.Runs) {
			t.Errorf("reinitialisers ran: %v, want none", delta(runs, origin.Runs))
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("parallel", func(t *testing.T) {
				t.Parallel()
				check(t, tt.name, tt.override)
			})
			t.Run("parent parallel", func(t *testing.T) {
				t.Parallel()
				t.Run("child", func(t *testing.T) {
					check(t, tt.name+"_parent", tt.override)
				})
			})
		})
	}
}

// TestParallelAfterOverridePanics checks that a test cannot call t.Parallel after an override, as after
// t.Setenv.
func TestParallelAfterOverridePanics(t *testing.T) {
	settings.Setenv(t, "ORIGIN_GREETING", "x")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "can not use t.Parallel") {
			t.Errorf("t.Parallel after settings.Setenv: recovered %v, want the testing package's panic", r)
		}
	}()
	t.Parallel()
}

// TestTwoTestsOverridingOneKey checks that a second test overriding a key that another test is still
// overriding fails with both names, while a subtest may nest its own override.
func TestTwoTestsOverridingOneKey(t *testing.T) {
	a := newFake(t, "TestA")
	a.Run(func(testing.TB) { settings.Setenv(a, "ORIGIN_GREETING", "from A") })
	sub := newFake(t, "TestA/sub")
	sub.Run(func(testing.TB) { settings.Setenv(sub, "ORIGIN_GREETING", "from A/sub") })
	if sub.Failed() {
		t.Errorf("a subtest overriding its parent's key failed: %s", errorText(sub))
	}
	b := newFake(t, "TestB")
	b.Run(func(testing.TB) { settings.Setenv(b, "ORIGIN_GREETING", "from B") })
	if !b.Stopped() {
		t.Fatalf("TestB overriding the key TestA holds did not fail")
	}
	golden(t, "conflict", errorText(b))
	if got := os.Getenv("ORIGIN_GREETING"); got != "from A/sub" {
		t.Errorf("ORIGIN_GREETING = %q, want TestB's refused override not applied", got)
	}
	sub.Finish()
	a.Finish()
	b.Finish()

	// Once TestA is over, TestB may override the key.
	b2 := newFake(t, "TestB")
	b2.Run(func(testing.TB) { settings.Setenv(b2, "ORIGIN_GREETING", "from B") })
	b2.Finish()
	if b2.Failed() {
		t.Errorf("TestB after TestA ended: %s", errorText(b2))
	}
	checkRestored(t)
}

// TestReinitialiserPanics checks that a reinitialiser that panics on an override is reported with where it
// panicked, that the reinitialisers after it still run, and that everything is restored at the end.
func TestReinitialiserPanics(t *testing.T) {
	f := newFake(t, "TestNegativeLimit")
	runs := maps.Clone(origin.Runs)
	f.Run(func(testing.TB) { settings.Replace(f, "origin.Limit", &origin.Limit, -1) })
	if !f.Stopped() {
		t.Fatalf("the panic was not reported with Fatalf")
	}
	golden(t, "panic_override", errorText(f))
	if got := delta(runs, origin.Runs); got["copier"] != 1 {
		t.Errorf("runs = %v, want copier to run after origin panicked", got)
	}
	f.Finish()
	if n := len(f.Errors()); n != 1 {
		t.Errorf("%d failures, want only the one of the override; restoring reported: %s", n, errorText(f))
	}
	checkRestored(t)
}

// armed makes the reinitialiser "test.flaky" panic whenever it runs; armedWith, with that value.
var (
	armed     bool
	armedWith error
)

func init() {
	settings.Register("test.flaky", func() {
		if armedWith != nil {
			panic(armedWith)
		}
		if armed {
			panic("flaky: cannot rebuild")
		}
	}, settings.WithKeys("SETTINGS_TEST_FLAKY"))
}

// TestReinitialiserPanicsWhileRestoring checks that when a reinitialiser panics at the end of a test, the
// panic is reported, the other overrides are still restored, and the other reinitialisers still run.
func TestReinitialiserPanicsWhileRestoring(t *testing.T) {
	f := newFake(t, "TestFlaky")
	f.Run(func(testing.TB) {
		settings.Setenv(f, "ORIGIN_GREETING", "x")
		settings.Setenv(f, "SETTINGS_TEST_FLAKY", "1")
		settings.Replace(f, "origin.Limit", &origin.Limit, 4)
	})
	if f.Failed() {
		t.Fatalf("the overrides failed: %s", errorText(f))
	}
	armed = true
	f.Finish()
	armed = false
	golden(t, "panic_restore", errorText(f))
	if _, set := os.LookupEnv("SETTINGS_TEST_FLAKY"); set {
		t.Errorf("SETTINGS_TEST_FLAKY is still set")
	}
	checkRestored(t)
}

// TestOverrideErrors pins the messages of overrides that cannot be made.
func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name     string
		override func(tb testing.TB)
	}{
		{"invalid_env_for_setting", func(tb testing.TB) { settings.Setenv(tb, "ORIGIN_LEVEL", "high") }},
		{"invalid_value_for_setting", func(tb testing.TB) { settings.SetValue(tb, origin.Config, "paint.coats", "many") }},
		{"unknown_flag", func(tb testing.TB) { settings.SetFlag(tb, origin.Flags, "sped", "1") }},
		{"invalid_flag_value", func(tb testing.TB) { settings.SetFlag(tb, origin.Flags, "speed", "fast") }},
		{"bad_env_key", func(tb testing.TB) { settings.Setenv(tb, "A=B", "1") }},
		{"replace_nil", func(tb testing.TB) { settings.Replace[int](tb, "nothing", nil, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, "TestX")
			f.Run(func(testing.TB) { tt.override(f) })
			f.Finish()
			if !f.Stopped() {
				t.Fatalf("no Fatalf")
			}
			golden(t, tt.name, errorText(f))
		})
	}
	checkRestored(t)
}

// A setting that reads paint.coats from origin's config file: defining it is what makes an override of
// paint.coats validated (the invalid_value_for_setting case), so the value itself is never read.
var _ = settings.Define("paint.coats", 0, strconv.Atoi, settings.WithSource(origin.Config))

// TestOverrideLogs checks what an override logs: which reinitialisers it ran, or that none depends on the
// key.
func TestOverrideLogs(t *testing.T) {
	f := newFake(t, "TestLogs")
	f.Run(func(testing.TB) {
		settings.Setenv(f, "ORIGIN_GREETING", "x")
		settings.Setenv(f, "SETTINGS_TEST_NOBODY", "x")
	})
	f.Finish()
	golden(t, "logs", logText(f))
	checkRestored(t)
}

// TestSetFlagRestoresCommandLine checks a flag on flag.CommandLine goes back to its value.
func TestSetFlagRestoresCommandLine(t *testing.T) {
	t.Run("override", func(t *testing.T) {
		settings.SetFlag(t, nil, "origin-region", "apac")
		if got := flag.Lookup("origin-region").Value.String(); got != "apac" {
			t.Errorf("-origin-region = %s, want apac", got)
		}
	})
	if got := flag.Lookup("origin-region").Value.String(); got != "eu" {
		t.Errorf("-origin-region = %s after the test, want eu", got)
	}
}

// picky is a flag value whose String does not give back what its Set accepts: Set takes "on" or "off",
// String shouts. With panics, Set panics on anything it rejects.
type picky struct {
	v      string
	panics bool
}

func (p *picky) String() string { return strings.ToUpper(p.v) }
func (p *picky) Set(s string) error {
	if s != "on" && s != "off" {
		if p.panics {
			panic("picky: " + s)
		}
		return fmt.Errorf("want on or off")
	}
	p.v = s
	return nil
}

// TestRestoreFailures checks that a restore that fails or panics is reported, and that the test's other
// overrides are still restored and the reinitialisers still run.
func TestRestoreFailures(t *testing.T) {
	tests := []struct {
		name   string
		panics bool
	}{
		{"restore_error", false},
		{"restore_panic", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("picky", flag.ContinueOnError)
			fs.Var(&picky{v: "off", panics: tt.panics}, "mode", "a picky flag")
			f := newFake(t, "TestPicky")
			f.Run(func(testing.TB) {
				settings.Setenv(f, "ORIGIN_GREETING", "x")
				settings.SetFlag(f, fs, "mode", "on")
				settings.Setenv(f, "ORIGIN_LEVEL", "2")
			})
			if f.Failed() {
				t.Fatalf("the overrides failed: %s", errorText(f))
			}
			f.Finish()
			golden(t, tt.name, errorText(f))
			checkRestored(t)
		})
	}
}

// brokenTB is a testing.TB whose Setenv panics for a reason other than t.Parallel.
type brokenTB struct{ *fakeTB }

func (b brokenTB) Setenv(string, string) { panic("brokenTB: no environment") }

// TestBrokenSetenvIsNotCalledParallel checks that only the testing package's parallel check is reported as
// a parallel test: another panic from Setenv goes on as it is.
func TestBrokenSetenvIsNotCalledParallel(t *testing.T) {
	b := brokenTB{newFake(t, "")}
	r := recovered(func() { settings.Setenv(b, "ORIGIN_GREETING", "x") })
	if r != "brokenTB: no environment" {
		t.Errorf("recovered %v, want the TB's own panic", r)
	}
	if b.Failed() {
		t.Errorf("reported a failure: %s", errorText(b.fakeTB))
	}
	checkRestored(t)
}
