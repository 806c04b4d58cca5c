package faketb

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name                     string
		body                     func(tb testing.TB)
		errors, logs             []string
		stopped, skipped, failed bool
	}{
		{name: "passes", body: func(tb testing.TB) { tb.Logf("x=%d", 1) }, logs: []string{"x=1"}},
		{name: "errors go on", body: func(tb testing.TB) { tb.Errorf("a"); tb.Error("b") }, errors: []string{"a", "b"}, failed: true},
		{name: "fatal stops", body: func(tb testing.TB) { tb.Fatalf("f %d", 2); tb.Errorf("not reached") },
			errors: []string{"f 2"}, stopped: true, failed: true},
		{name: "skip stops", body: func(tb testing.TB) { tb.Skip("why"); tb.Errorf("not reached") }, logs: []string{"why"}, skipped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(t, "")
			f.Run(tt.body)
			if got := f.Errors(); !slices.Equal(got, tt.errors) {
				t.Errorf("Errors() = %q, want %q", got, tt.errors)
			}
			if got := f.Logs(); !slices.Equal(got, tt.logs) {
				t.Errorf("Logs() = %q, want %q", got, tt.logs)
			}
			if f.Stopped() != tt.stopped || f.Skipped() != tt.skipped || f.Failed() != tt.failed {
				t.Errorf("Stopped, Skipped, Failed = %v, %v, %v; want %v, %v, %v", f.Stopped(), f.Skipped(), f.Failed(), tt.stopped, tt.skipped, tt.failed)
			}
			if f.Name() != t.Name() {
				t.Errorf("Name() = %q, want the real test's %q", f.Name(), t.Name())
			}
		})
	}
}

func TestWithoutATest(t *testing.T) {
	const key = "FAKETB_TEST_VAR"
	f := New(nil, "TestExample")
	var printed []string
	f.OnError = func(msg string) { printed = append(printed, msg) }
	order := []int{}
	f.Run(func(tb testing.TB) {
		tb.Setenv(key, "1")
		tb.Cleanup(func() { order = append(order, 1) })
		tb.Cleanup(func() { order = append(order, 2) })
		tb.Fatal("boom")
	})
	if os.Getenv(key) != "1" || !slices.Equal(printed, []string{"boom"}) || f.Name() != "TestExample" {
		t.Fatalf("env %q, printed %q, name %q", os.Getenv(key), printed, f.Name())
	}
	f.Finish()
	f.Finish()
	if _, set := os.LookupEnv(key); set || !slices.Equal(order, []int{2, 1}) {
		t.Errorf("after Finish: %s set %v, cleanups ran %v; want unset and [2 1], once", key, set, order)
	}
	p := New(nil, "TestParallel")
	p.Parallel = true
	defer func() {
		if recover() == nil {
			t.Error("Setenv in an emulated parallel test did not panic")
		}
	}()
	p.Setenv(key, "2")
}

func TestContextFailFailures(t *testing.T) {
	f := New(t, "")
	canceledAtCleanup := false
	f.Run(func(tb testing.TB) {
		tb.Cleanup(func() { canceledAtCleanup = tb.Context().Err() != nil })
		tb.Fail()
		if !tb.Failed() || len(f.Errors()) != 0 {
			t.Errorf("after Fail: Failed %v, errors %q; want true and none", tb.Failed(), f.Errors())
		}
		tb.Errorf("a")
		tb.Fatalf("b")
	})
	if got := f.Failures(); got != "a\nb" {
		t.Errorf("Failures() = %q, want %q", got, "a\nb")
	}
	if f.Context().Err() != nil {
		t.Error("the context is canceled before Finish")
	}
	f.Finish()
	if !canceledAtCleanup {
		t.Error("the context is not canceled when the cleanups run")
	}
	if New(nil, "TestExample").Context() == nil {
		t.Error("without a real test, Context is nil")
	}
}

func TestFatalOutsideRun(t *testing.T) {
	f := New(t, "")
	defer func() {
		err, ok := recover().(error)
		if !ok || !strings.Contains(err.Error(), "not run by TB.Run") {
			t.Errorf("Fatal outside Run panicked with %v, want an error that names TB.Run", err)
		}
	}()
	f.Fatal("x")
}
