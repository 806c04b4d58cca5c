package settings_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/settings"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/origin"
)

// TestSettingGet checks how a typed setting reads its value: lazily, every time, from the environment or
// a source, with the default for an absent or invalid value.
func TestSettingGet(t *testing.T) {
	wait := settings.Define("SETTINGS_TEST_WAIT", time.Second, time.ParseDuration)
	name := settings.Define[string]("SETTINGS_TEST_NAME", "anon", nil)
	tests := []struct {
		name    string
		set     func(t *testing.T)
		want    time.Duration
		wantErr bool
	}{
		{"absent", func(*testing.T) {}, time.Second, false},
		{"valid", func(t *testing.T) { t.Setenv("SETTINGS_TEST_WAIT", "5ms") }, 5 * time.Millisecond, false},
		{"empty is present and invalid", func(t *testing.T) { t.Setenv("SETTINGS_TEST_WAIT", "") }, time.Second, true},
		{"invalid", func(t *testing.T) { t.Setenv("SETTINGS_TEST_WAIT", "soon") }, time.Second, true},
		{"Set wins over the environment", func(t *testing.T) {
			t.Setenv("SETTINGS_TEST_WAIT", "soon")
			settings.Set(t, wait, time.Minute)
		}, time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.set(t)
			if got := wait.Get(); got != tt.want {
				t.Errorf("Get() = %v, want %v", got, tt.want)
			}
			if err := wait.Err(); (err != nil) != tt.wantErr {
				t.Errorf("Err() = %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
	if got := wait.Get(); got != time.Second {
		t.Errorf("after the subtests Get() = %v, want the default again", got)
	}
	t.Run("string with nil parse", func(t *testing.T) {
		t.Setenv("SETTINGS_TEST_NAME", "ada")
		if got := name.Get(); got != "ada" {
			t.Errorf("Get() = %q, want ada", got)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		t.Setenv("SETTINGS_TEST_WAIT", "soon")
		err := wait.Err()
		if err == nil || !strings.Contains(err.Error(), `SETTINGS_TEST_WAIT="soon"`) || errors.Unwrap(err) == nil {
			t.Errorf("Err() = %v, want an error naming SETTINGS_TEST_WAIT=\"soon\" that wraps the parse error", err)
		}
	})
}

// TestDefinePanics pins the messages of definitions that are programming mistakes.
func TestDefinePanics(t *testing.T) {
	tests := []struct {
		name   string
		define func()
	}{
		{"define_empty_name", func() { settings.Define("", 0, strconv.Atoi) }},
		{"define_nil_parse", func() { settings.Define[int]("SETTINGS_TEST_N", 0, nil) }},
		{"define_with_keys", func() { settings.Define("SETTINGS_TEST_K", 0, strconv.Atoi, settings.WithKeys("X")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, fmt.Sprint(recovered(tt.define)))
		})
	}
}

// recovered runs f and returns what it panicked with.
func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return "did not panic"
}

// TestSettingIsNotStaleButHooksNeedOverrides shows the difference between the handle, which always reads
// the current value, and a value derived eagerly by an OnChange hook, which follows only overrides made
// through this package.
func TestSettingIsNotStaleButHooksNeedOverrides(t *testing.T) {
	t.Run("plain t.Setenv", func(t *testing.T) {
		t.Setenv("ORIGIN_LEVEL", "8")
		if got := origin.Level.Get(); got != 8 {
			t.Errorf("Level.Get() = %d, want 8", got)
		}
		if origin.LevelText != "level 1" {
			t.Errorf("LevelText = %q, want the stale %q: a hook does not see a plain t.Setenv", origin.LevelText, "level 1")
		}
	})
	t.Run("settings.Setenv", func(t *testing.T) {
		settings.Setenv(t, "ORIGIN_LEVEL", "8")
		if got := origin.Level.Get(); got != 8 || origin.LevelText != "level 8" {
			t.Errorf("Level.Get() = %d, LevelText = %q; want 8, level 8", got, origin.LevelText)
		}
	})
	t.Run("settings.Set", func(t *testing.T) {
		settings.Set(t, origin.Level, 9)
		if got := origin.Level.Get(); got != 9 || origin.LevelText != "level 9" {
			t.Errorf("Level.Get() = %d, LevelText = %q; want 9, level 9", got, origin.LevelText)
		}
		t.Run("nested", func(t *testing.T) {
			settings.Set(t, origin.Level, 10)
			if origin.LevelText != "level 10" {
				t.Errorf("LevelText = %q, want level 10", origin.LevelText)
			}
		})
		if got := origin.Level.Get(); got != 9 || origin.LevelText != "level 9" {
			t.Errorf("after the nested test: Level.Get() = %d, LevelText = %q; want 9, level 9", got, origin.LevelText)
		}
	})
	checkRestored(t)
}

// TestWithValueInParallel runs 50 parallel subtests, each giving the same setting its own value through a
// context while other goroutines read it, and checks that each sees only its own (run it with -race).
func TestWithValueInParallel(t *testing.T) {
	t.Parallel()
	const n = 50
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ctx := settings.WithValue(t.Context(), origin.Level, 1000+i)
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 100 {
						if got := origin.Level.From(ctx); got != 1000+i {
							errs <- fmt.Errorf("goroutine %d: Level.From(ctx) = %d, want %d", g, got, 1000+i)
							return
						}
						if got := origin.Level.Get(); got != 1 {
							errs <- fmt.Errorf("goroutine %d: Level.Get() = %d, want 1: the context override leaked", g, got)
							return
						}
					}
				}()
			}
			inner := settings.WithValue(ctx, origin.Level, -i)
			if got := origin.Level.From(inner); got != -i {
				t.Errorf("nested WithValue: From = %d, want %d", got, -i)
			}
			if got := origin.Level.From(context.Background()); got != 1 {
				t.Errorf("From(Background) = %d, want 1", got)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestWithValueNilInterface checks that a nil value of an interface type survives the context.
func TestWithValueNilInterface(t *testing.T) {
	s := settings.Define("SETTINGS_TEST_ERR", error(errors.New("default")), func(v string) (error, error) { return errors.New(v), nil })
	ctx := settings.WithValue(context.Background(), s, nil)
	if got := s.From(ctx); got != nil {
		t.Errorf("From = %v, want the nil put in the context", got)
	}
}

// BenchmarkSettingGet measures a read of an environment-backed setting whose value did not change.
func BenchmarkSettingGet(b *testing.B) {
	b.Setenv("ORIGIN_LEVEL", "4")
	for b.Loop() {
		if origin.Level.Get() != 4 {
			b.Fatal("wrong value")
		}
	}
}

// BenchmarkSettingFrom measures a read through a context that holds the value.
func BenchmarkSettingFrom(b *testing.B) {
	ctx := settings.WithValue(context.Background(), origin.Level, 4)
	for b.Loop() {
		if origin.Level.From(ctx) != 4 {
			b.Fatal("wrong value")
		}
	}
}
