package settings_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/dbsuite/dbsuite/internal/faketb"

	"github.com/dbsuite/dbsuite/settings"
)

// hoard is built when the package is imported, from EXAMPLE_EGGS. In a real program it and its
// reinitialiser sit in production code (see examples/dragon).
var hoard = buildHoard()

func buildHoard() string {
	if eggs, _ := strconv.ParseBool(os.Getenv("EXAMPLE_EGGS")); eggs {
		return "gold, 3 eggs"
	}
	return "gold"
}

func init() {
	settings.Register("example.hoard", func() { hoard = buildHoard() }, settings.WithKeys("EXAMPLE_EGGS"))
}

// Overriding a value built at start-up: t.Setenv changes the environment, but the hoard was built
// already; settings.Setenv re-runs the reinitialiser, and restores both when the test ends. In a parallel
// test it refuses, and says what to do instead.
func Example() {
	runExample("TestPlainSetenv", false, func(t testing.TB) {
		t.Setenv("EXAMPLE_EGGS", "true")
		fmt.Println("after t.Setenv:       ", hoard)
	})
	runExample("TestSettingsSetenv", false, func(t testing.TB) {
		settings.Setenv(t, "EXAMPLE_EGGS", "true")
		fmt.Println("after settings.Setenv:", hoard)
	})
	fmt.Println("after the test:       ", hoard)

	runExample("TestInParallel", true, func(t testing.TB) {
		settings.Setenv(t, "EXAMPLE_EGGS", "true")
		fmt.Println("not reached")
	})
	// Output:
	// after t.Setenv:        gold
	// after settings.Setenv: gold, 3 eggs
	// after the test:        gold
	// --- FAIL: TestInParallel
	// settings: Setenv(EXAMPLE_EGGS="true") in TestInParallel, which runs in parallel with other tests (it or a parent test called t.Parallel), want a test that does not run in parallel
	//   every test running at the same time would see a process-wide override
	// fix: remove t.Parallel from TestInParallel and its parents; or read the value with Setting.From(ctx) and override it with settings.WithValue, which is safe in parallel tests; or run the test in a child process with settings.Subprocess
}

// coins is a typed setting, defined once at package level.
var coins = settings.Define("EXAMPLE_COINS", 100, strconv.Atoi)

// A typed setting is read when it is used, so it never goes stale; Set overrides it for one test. A value
// that does not parse is caught.
func ExampleDefine() {
	runExample("TestCoins", false, func(t testing.TB) {
		t.Setenv("EXAMPLE_COINS", "250") // even a plain t.Setenv is seen
		fmt.Println("coins:", coins.Get())
		settings.Set(t, coins, 7)
		fmt.Println("coins:", coins.Get())
	})
	fmt.Println("coins after the test:", coins.Get())

	runExample("TestBadCoins", false, func(t testing.TB) {
		settings.Setenv(t, "EXAMPLE_COINS", "lots")
	})
	// Output:
	// coins: 250
	// coins: 7
	// coins after the test: 100
	// --- FAIL: TestBadCoins
	// settings: Setenv(EXAMPLE_COINS="lots") in TestBadCoins: the value is not valid, want one the setting accepts
	//   EXAMPLE_COINS="lots" is not a valid value, so EXAMPLE_COINS is the default 100: strconv.Atoi: parsing "lots": invalid syntax
	// fix: override with a value the setting accepts
}

var exampleEggs = settings.Define("EXAMPLE_CTX_EGGS", false, strconv.ParseBool)

// Code that takes a context reads its settings with From; tests give each call its own value with
// WithValue, which changes nothing process-wide, so the tests can run in parallel.
func ExampleWithValue() {
	lay := func(ctx context.Context) int {
		if exampleEggs.From(ctx) {
			return 3
		}
		return 0
	}
	ctx := context.Background()
	fmt.Println(lay(ctx), lay(settings.WithValue(ctx, exampleEggs, true)))
	// Output: 0 3
}

// Configuration loaded from a file at start-up sits in a Source; reinitialisers read it, and tests
// override it key by key.
func ExampleSource() {
	config := settings.NewSource("lair.json")
	if _, err := config.LoadJSON([]byte(`{"lair": {"depth": 40, "torches": null}, "name": "Smaug"}`)); err != nil {
		fmt.Println(err)
		return
	}
	_, torches := config.Lookup("lair.torches")
	fmt.Println(config.Get("name"), config.Get("lair.depth"), torches)

	runExample("TestShallowLair", false, func(t testing.TB) {
		settings.SetValue(t, config, "lair.depth", "3")
		fmt.Println("in the test:", config.Get("lair.depth"))
	})
	fmt.Println("after it:", config.Get("lair.depth"))
	// Output:
	// Smaug 40 false
	// in the test: 3
	// after it: 40
}

// exampleLives is a package variable that a test replaces for its duration.
var exampleLives = 3

func ExampleReplace() {
	runExample("TestLastLife", false, func(t testing.TB) {
		settings.Replace(t, "example.lives", &exampleLives, 1)
		fmt.Println("lives in the test:", exampleLives)
	})
	fmt.Println("lives after it:", exampleLives)
	// Output:
	// lives in the test: 1
	// lives after it: 3
}

// Subprocess runs the rest of the test in a child process that starts with PUT_EGGS=true, so that even
// init functions see it. (This example is compiled, not run: it needs a test binary.)
func ExampleSubprocess() {
	var t *testing.T // the test's t
	settings.Subprocess(t, map[string]string{"PUT_EGGS": "true"}, func(t *testing.T) {
		if os.Getenv("PUT_EGGS") != "true" {
			t.Errorf("PUT_EGGS = %q in the child, want true", os.Getenv("PUT_EGGS"))
		}
	})
}

// runExample runs body as a test named name would run, with a fake for its t that prints its failures,
// then runs its cleanups.
func runExample(name string, parallel bool, body func(t testing.TB)) {
	t := faketb.New(nil, name)
	t.Parallel = parallel
	t.OnError = func(msg string) { fmt.Printf("--- FAIL: %s\n%s\n", name, msg) }
	defer t.Finish()
	t.Run(body)
}
