// Command pgtune tunes a PostgreSQL server for tests when its command line
// cannot be changed, such as a GitHub Actions service container: it
// applies dbsuite's test settings (and any -set) with ALTER SYSTEM, reloads,
// restarts when a setting needs it and -restart says how, and verifies
// every value with SHOW.
//
// It exits 0 when every setting is in effect, 1 when one is not (with the
// command to run when a restart is needed), and 2 on bad usage.
//
// In a workflow:
//
//	steps:
//	  - name: Tune PostgreSQL for tests
//	    run: >
//	      go run github.com/dbsuite/dbsuite/containers/cmd/pgtune
//	      -dsn "$DBSUITE_POSTGRES_URL"
//	      -restart "docker restart ${{ job.services.postgres.id }}"
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dbsuite/dbsuite/containers"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// setFlags collects repeated -set name=value flags.
type setFlags containers.Settings

func (s setFlags) String() string { return "" }

func (s setFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	s[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pgtune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("dsn", "", "connection string of a superuser (default: $"+containers.EnvURL+", then $DATABASE_URL)")
	preset := fs.String("preset", "test", `settings to start from: "test" (containers.ThrowawaySettings) or "none"`)
	restart := fs.String("restart", "", `shell command that restarts the server, run when a setting needs it (e.g. "docker restart <container>")`)
	container := fs.String("container", os.Getenv(containers.EnvContainer), "Docker container of the server, to name the restart command (default: $"+containers.EnvContainer+")")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	extra := setFlags{}
	fs.Var(extra, "set", "a setting to apply, name=value (repeatable; wins over the preset)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pgtune [flags]\n\nApplies test settings to a PostgreSQL server with ALTER SYSTEM and verifies them with SHOW.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "pgtune: -timeout %v: want a positive duration, such as 2m\n", *timeout)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pgtune: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	if *dsn == "" {
		*dsn = os.Getenv(containers.EnvURL)
	}
	if *dsn == "" {
		*dsn = os.Getenv("DATABASE_URL")
	}
	if *dsn == "" {
		fmt.Fprintf(stderr, "pgtune: no server: pass -dsn, or set %s or DATABASE_URL\n", containers.EnvURL)
		return 2
	}
	settings := containers.Settings{}
	switch *preset {
	case "test":
		settings = containers.ThrowawaySettings()
	case "none":
	default:
		fmt.Fprintf(stderr, "pgtune: -preset %q: want \"test\" or \"none\"\n", *preset)
		return 2
	}
	for k, v := range extra {
		settings[k] = v
	}
	var opts []containers.Option
	if *container != "" {
		opts = append(opts, containers.WithRestartHint("docker restart "+*container))
	}
	if *restart != "" {
		opts = append(opts, containers.WithRestart(func(ctx context.Context) error {
			fmt.Fprintf(stdout, "pgtune: restarting the server: %s\n", *restart)
			// The output also goes into the error, so that Tune can quote
			// the server's FATAL line when it does not come back.
			var out bytes.Buffer
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", *restart)
			cmd.Stdout, cmd.Stderr = io.MultiWriter(stdout, &out), io.MultiWriter(stderr, &out)
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w\n%s", *restart, err, out.Bytes())
			}
			return nil
		}))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	report, err := containers.Tune(ctx, *dsn, settings, opts...)
	if len(report.Settings) > 0 {
		fmt.Fprint(stdout, report)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, containers.ErrRestartRequired) && *restart == "" {
			fmt.Fprintf(stderr, "pgtune: or run pgtune again with -restart \"<command that restarts the server>\"\n")
		}
		return 1
	}
	fmt.Fprintln(stdout, "pgtune: every setting is in effect")
	return 0
}
