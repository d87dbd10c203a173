// Command dialer uploads CSV campaigns, reports on them, and runs a whole campaign in one
// command. See `dialer help` and the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// env is what a command reads from outside its flags.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand: run parses args (after the subcommand's name) and does the work.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{
	"upload":    {"upload a campaign file and a contact CSV; prints the campaign ID", runUpload},
	"status":    {"show a campaign's progress (--json for one JSON object)", runStatus},
	"report":    {"export a campaign's report as CSV", runReport},
	"run":       {"upload, dial with an in-process worker pool, and write the report", runRun},
	"simulate":  {"serve a local Interactly API simulator", runSimulate},
	"suppress":  {"add, remove, check or import numbers on the do-not-call list", runSuppress},
	"schedule":  {"add, list or remove a recurring campaign (a cron spec and two files)", runSchedule},
	"scheduler": {"create the campaigns of recurring schedules at each tick (long-running)", runScheduler},
	"serve":     {"serve Interactly webhooks, /healthz, and the operator API, /metrics and queue UI behind tokens (long-running)", runServe},
	"list":      {"list campaigns with their state and progress", runList},
	"pause":     {"stop new dials of a campaign within a second; live calls finish", runPause},
	"resume":    {"let a paused campaign dial again, where it stopped", runResume},
	"cancel":    {"give a campaign's remaining contacts the outcome canceled (--hangup ends live calls)", runCancel},
	"call":      {"steer a live call: say, end, forward or dtmf", runCall},
	"token":     {"create, list or revoke the bearer tokens of dialer serve's operator routes", runToken},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr}
	if err := dispatch(ctx, e, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) && err != errUsage {
			fmt.Fprintln(os.Stderr, "dialer:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(e.stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return cmd.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dialer COMMAND [flags]   (dialer COMMAND -h for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-9s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nenvironment:\n  REDIS_URL            Redis holding queue and records (run: embedded in-memory Redis when unset)\n  INTERACTLY_API_KEY   API key, sent as a Bearer token\n  INTERACTLY_BASE_URL  default https://api-prod.interactly.ai")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(e *env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: dialer %s %s\n\nflags:\n", name, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// oneArg parses fs and returns its single positional argument.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	// Flags may follow the argument too: dialer status ID --json.
	if fs.NArg() >= 1 {
		arg := fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			return arg, nil
		}
	}
	fs.Usage()
	return "", fmt.Errorf("%w: want one %s", errUsage, what)
}
