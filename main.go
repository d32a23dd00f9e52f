// Command catwalk is the Catwalk Reviews service: one binary whose
// subcommands serve the API, load data, generate data and migrate.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/catwalk/reviews/envflag"
)

const usage = `usage: catwalk <command> [flags]

commands:
  serve    serve the REST API on an existing, migrated database
  dev      start (or reuse) a local PostgreSQL under ./.data, load demo data, serve
  migrate  apply the embedded schema migrations
  gen      write a synthetic dataset of the four CSV files
  etl      load the four CSV files into PostgreSQL

Run 'catwalk <command> -h' for a command's flags.
`

// errUsage marks a command-line mistake: exit status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve":   cmdServe,
		"dev":     cmdDev,
		"migrate": cmdMigrate,
		"gen":     cmdGen,
		"etl":     cmdETL,
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "catwalk: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "catwalk %s: %v\n", name, err)
		return 1
	}
}

// newFlagSet makes a subcommand's flag set that reports errors instead of
// exiting, with usage that names each flag's environment variable.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = envflag.Usage(fs, synopsis)
	return fs
}

// parseFlags parses args (environment fallbacks included); a bad flag is errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := envflag.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package or envflag has printed why
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		fs.Usage()
		return errUsage
	}
	return nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
