package settings_test

import (
	"os"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/settings"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/copier"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/origin"
)

// inChild reports whether this process is a child started by settings.Subprocess.
func inChild() bool { return os.Getenv(settings.ChildEnv) != "" }

// TestSubprocessInitSeesEnv checks that in the child, init functions and package-level vars saw the
// environment: origin.AtStartup has no reinitialiser, so no in-process override could change it. Each
// call of a test gets its own child. It runs in parallel: Subprocess changes nothing in this process.
func TestSubprocessInitSeesEnv(t *testing.T) {
	t.Parallel()
	for _, greeting := range []string{"bonjour", "hola"} {
		settings.Subprocess(t, map[string]string{"ORIGIN_GREETING": greeting}, func(t *testing.T) {
			if origin.AtStartup != greeting {
				t.Errorf("origin.AtStartup = %q in the child, want %q", origin.AtStartup, greeting)
			}
			if want := `greeting="` + greeting + `"`; !strings.Contains(copier.Copy, want) {
				t.Errorf("copier.Copy = %s in the child, want it to contain %s", copier.Copy, want)
			}
		})
	}
	if !inChild() && origin.AtStartup != "" {
		t.Errorf("origin.AtStartup = %q in the parent, want it untouched", origin.AtStartup)
	}
}

// TestSubprocessReports checks how the parent reports what the child did. The child fails or skips its
// real test (t); the parent is a fake, so that its report can be compared with a golden file.
func TestSubprocessReports(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		child   func(t *testing.T)
		check   func(t *testing.T, f *fakeTB) // in the parent
		branchy bool                          // call Subprocess only when SETTINGS_TEST_BRANCH is unset
	}{
		{
			name:  "passes and logs",
			env:   map[string]string{"ORIGIN_GREETING": "hi"},
			child: func(t *testing.T) { t.Logf("child sees %s", origin.AtStartup) },
			check: func(t *testing.T, f *fakeTB) {
				if f.Failed() || f.Skipped() {
					t.Errorf("parent failed or skipped: %s", errorText(f))
				}
				golden(t, "subprocess_pass", logText(f))
			},
		},
		{
			name: "fails",
			env:  map[string]string{"ORIGIN_GREETING": "it's me", "SETTINGS_TEST_OTHER": "1"},
			child: func(t *testing.T) {
				t.Logf("a log line before the failure")
				t.Errorf("origin.AtStartup = %q, want %q", origin.AtStartup, "someone else")
				t.Errorf("a second failure")
			},
			check: func(t *testing.T, f *fakeTB) { golden(t, "subprocess_fail", errorText(f)) },
		},
		{
			name: "fatal",
			child: func(t *testing.T) {
				t.Fatalf("stop here")
				t.Logf("never printed")
			},
			check: func(t *testing.T, f *fakeTB) { golden(t, "subprocess_fatal", errorText(f)) },
		},
		{
			name:  "skips",
			child: func(t *testing.T) { t.Skip("needs a dragon") },
			check: func(t *testing.T, f *fakeTB) {
				if !f.Skipped() || f.Failed() {
					t.Errorf("parent skipped %v, failed %v (%s), want skipped and not failed", f.Skipped(), f.Failed(), errorText(f))
				}
				golden(t, "subprocess_skip", logText(f))
			},
		},
		{
			name:  "panics",
			child: func(t *testing.T) { panic("the child panics") },
			check: func(t *testing.T, f *fakeTB) {
				got := errorText(f)
				for _, want := range []string{"failed in a child process", "panic: the child panics", "exit status 2", "subprocess_test.go:"} {
					if !strings.Contains(got, want) {
						t.Errorf("report does not contain %q:\n%s", want, got)
					}
				}
			},
		},
		{
			name:    "never reaches the call",
			env:     map[string]string{"SETTINGS_TEST_BRANCH": "1"},
			child:   func(t *testing.T) { t.Errorf("unreachable") },
			branchy: true,
			check:   func(t *testing.T, f *fakeTB) { golden(t, "subprocess_unreached", errorText(f)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, "")
			f.Run(func(testing.TB) {
				if tt.branchy && os.Getenv("SETTINGS_TEST_BRANCH") != "" {
					return
				}
				settings.Subprocess(f, tt.env, func(*fakeTB) { tt.child(t) })
			})
			if inChild() {
				return // the child's outcome is checked by the parent
			}
			tt.check(t, f)
		})
	}
}
