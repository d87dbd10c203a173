// Command dialer uploads CSV campaigns, reports on them, and runs a whole campaign in one
// command. See `dialer help` and the README.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/dialerhq/dialer/internal/campaign"
)

// env is what a command reads from outside its flags.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// lookupHost resolves a host name, as net.Resolver.LookupHost does. nil means the
	// system's resolver; tests set it to say "no such host" without a network.
	lookupHost func(ctx context.Context, host string) ([]string, error)
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
	"edit":      {"change a campaign's limits, calling window, retry policy, endAt, priority or weight while it runs", runEdit},
	"retry":     {"give every contact whose final outcome is listed another attempt (--outcome no-answer,failed)", runRetry},
	"redial":    {"dial one contact of a campaign again now", runRedial},
	"skip":      {"give one contact the outcome canceled without dialing it", runSkip},
	"call":      {"steer a live call: say, end, forward or dtmf", runCall},
	"audit":     {"print the operator audit log: who changed what, from where, with what result", runAudit},
	"archive":   {"write a campaign's record and reports, gzipped with a manifest, to a directory or S3 bucket", runArchive},
	"delete":    {"remove a campaign from Redis (--force cancels a live one first)", runDelete},
	"token":     {"create, list or revoke the bearer tokens of dialer serve's operator routes", runToken},
	"account":   {"set or list Interactly accounts: API key variable and limits shared by their campaigns", runAccount},
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

// exitCode is 0 for help asked for (flag.ErrHelp), 2 for a usage error (errUsage: a bad
// flag, a missing argument) and 1 for any other error.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// errUsage is wrapped by every error that the command line itself is wrong.
var errUsage = errors.New("usage")

func dispatch(ctx context.Context, e *env, args []string) error {
	switch {
	case len(args) == 0:
		usage(e.stderr)
		return errUsage
	case args[0] == "help" && len(args) > 1:
		// dialer help upload: upload's own usage.
		if _, ok := commands[args[1]]; ok {
			return dispatch(ctx, e, []string{args[1], "-h"})
		}
		usage(e.stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[1])
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help":
		usage(e.stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(e.stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	err := cmd.run(ctx, e, args[1:])
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		return fmt.Errorf("%w; `dialer list` shows the campaigns there are", err)
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dialer COMMAND [flags]   (dialer help COMMAND, or dialer COMMAND -h, for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-9s %s\n", name, commands[name].summary)
	}
	fmt.Fprint(w, `
environment:
  REDIS_URL                  Redis holding queue and records (run: embedded in-memory Redis when unset)
  INTERACTLY_API_KEY         API key, sent as a Bearer token (worker, run, call, cancel --hangup)
  INTERACTLY_BASE_URL        default https://api-prod.interactly.ai
  INTERACTLY_WEBHOOK_SECRET  the assistant server's secret: serve checks webhooks against it,
                             simulate --webhook-url sends it
`)
}

// printJSONOrNone writes what a listing command writes instead of its table: with asJSON,
// items as one JSON array, and with no items the line none, both to e.stdout. It reports
// whether it wrote either, and then the caller is done (err is the write's); otherwise the
// caller prints items as a table.
func printJSONOrNone[T any](e *env, items []T, asJSON bool, none string) (bool, error) {
	if asJSON {
		return true, json.NewEncoder(e.stdout).Encode(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, none)
		return true, nil
	}
	return false, nil
}

// newTable returns a writer of the CLI's tables onto w, header (columns separated by tabs)
// written: each row written to it is a line of cells separated by tabs, which it aligns in
// columns two spaces apart. Flush it after the last row.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// newFlagSet returns a flag set that reports errors instead of exiting. Parse it with
// parseFlags, which sends its usage to stdout when asked for and to stderr on a mistake.
func newFlagSet(e *env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: dialer %s %s\n\nflags:\n", name, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs. With -h or --help it prints fs's usage to stdout and
// returns flag.ErrHelp (exit 0); a flag that is wrong prints the usage to stderr and returns
// an error wrapping errUsage (exit 2).
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard) // the error is returned, and main prints it once
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(e.stderr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return showHelp(e, fs)
	}
	return usageError(fs, "%v", err)
}

// parseNoArgs is parseFlags for a command that takes flags only: an argument left over is a
// usage error, "<command> takes no arguments", with the command's usage printed.
func parseNoArgs(e *env, fs *flag.FlagSet, args []string, command string) error {
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "%s takes no arguments", command)
	}
	return nil
}

// parseRequired is parseFlags for a command that takes flags only, the flags named in
// required (without their dashes) being required: an argument left over, or one of those
// flags left empty, is a usage error "--a, --b and --c are required", with the command's
// usage printed. Each name must be a flag of fs.
func parseRequired(e *env, fs *flag.FlagSet, args []string, required ...string) error {
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	bad := fs.NArg() > 0
	flags := make([]string, len(required))
	for i, name := range required {
		bad = bad || fs.Lookup(name).Value.String() == ""
		flags[i] = "--" + name
	}
	if !bad {
		return nil
	}
	list := flags[len(flags)-1]
	if len(flags) > 1 {
		list = strings.Join(flags[:len(flags)-1], ", ") + " and " + list
	}
	return usageError(fs, "%s are required", list)
}

// usageError prints fs's usage on its output (stderr) and returns an error wrapping
// errUsage (exit 2) that says what is wrong: "usage: " and format's message.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fs.Usage()
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// showHelp prints fs's usage to stdout, as asked for, and returns flag.ErrHelp.
func showHelp(e *env, fs *flag.FlagSet) error {
	fs.SetOutput(e.stdout)
	fs.Usage()
	fs.SetOutput(e.stderr)
	return flag.ErrHelp
}

// oneArg parses fs and returns its single positional argument.
func oneArg(e *env, fs *flag.FlagSet, args []string, what string) (string, error) {
	if err := parseFlags(e, fs, args); err != nil {
		return "", err
	}
	// Flags may follow the argument too: dialer status ID --json.
	if fs.NArg() >= 1 {
		arg := fs.Arg(0)
		if err := parseFlags(e, fs, fs.Args()[1:]); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			return arg, nil
		}
	}
	return "", usageError(fs, "want one %s", what)
}

// subcommand runs the subcommand of command name that args[0] names, from cmds, printing
// usage (the subcommands' synopsis) on stderr when it is missing or unknown (a usage
// error), and on stdout when asked for with -h (flag.ErrHelp).
func subcommand(ctx context.Context, e *env, name, usage string, args []string, cmds map[string]func(context.Context, *env, []string) error) error {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	want := strings.Join(names, ", ")
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "usage: dialer %s %s\n", name, usage)
		return fmt.Errorf("%w: want %s", errUsage, want)
	}
	if run, ok := cmds[args[0]]; ok {
		return run(ctx, e, args[1:])
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(e.stdout, "usage: dialer %s %s\n", name, usage)
		return flag.ErrHelp
	}
	fmt.Fprintf(e.stderr, "usage: dialer %s %s\n", name, usage)
	return fmt.Errorf("%w: unknown %s command %q; want %s", errUsage, name, args[0], want)
}
