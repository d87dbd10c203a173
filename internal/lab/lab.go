package lab

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// modulePath is the module the commands are built from.
const modulePath = "github.com/dialerhq/dialer"

// Main runs a measuring command and exits: it calls run with a context that ends on Ctrl-C
// or SIGTERM, the command's arguments, stdout and stderr. The exit status is 0 when run
// returns nil; 2 when it returns flag.ErrHelp (the flag set printed the usage); 130 when the
// context ended, after run has cleaned up, saying "COMMAND: interrupted; cleaned up"; and 1
// otherwise, with "COMMAND: " and the error on stderr.
func Main(command string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	os.Exit(exitCode(command, err, interrupted, os.Stderr))
}

// exitCode is Main's exit status for run's err; it writes the line that goes with it to
// stderr.
func exitCode(command string, err error, interrupted bool, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case interrupted:
		fmt.Fprintln(stderr, command+": interrupted; cleaned up")
		return 130
	default:
		fmt.Fprintln(stderr, command+":", err)
		return 1
	}
}

// Options say which command opens a Lab.
type Options struct {
	// Command is the command's name, e.g. "bench". It starts each progress line
	// ("bench: …"), names the temporary directory (dialer-bench-…) and the hint given when
	// the command is run outside the repository (go run ./cmd/bench). Required.
	Command string
	// Log receives the progress lines, e.g. the command's stderr. Required.
	Log io.Writer
	// Keep leaves the temporary directory in place at Close, and says where it is. Defaults
	// to false: Close removes it.
	Keep bool
}

// Lab is one run of a measuring command: its temporary directory, the dialer and worker
// built into it, and its progress lines. Open makes one; Close removes it.
type Lab struct {
	// Dir is the temporary directory, dialer-COMMAND-* in os.TempDir. The command may put
	// anything in it: campaign and contact files, logs, Redis data.
	Dir string
	// Dialer and Worker are the paths of the built cmd/dialer and cmd/worker, in Dir.
	Dialer, Worker string

	opts         Options
	stopAnnounce func() bool // stops the context.AfterFunc that announces an interrupt
	closed       bool
}

// Open finds the dialer's module from the working directory (`go env GOMOD`), makes the
// temporary directory and builds cmd/dialer and cmd/worker into it, saying so in a progress
// line. From then until Close, ctx ending writes "interrupted; stopping workers and
// redis-server" at once, because cleaning up can take seconds. The errors say to run the
// command from inside the repository, that the go command is missing, or why the build
// failed (with its output); ctx's error when it ends during the build. On an error nothing
// is left to Close.
func Open(ctx context.Context, opts Options) (*Lab, error) {
	if opts.Command == "" || opts.Log == nil {
		return nil, errors.New("lab.Open: Options.Command and Options.Log are required")
	}
	root, err := moduleRoot(ctx, opts.Command)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dialer-"+opts.Command+"-")
	if err != nil {
		return nil, err
	}
	l := &Lab{Dir: dir, opts: opts}
	l.stopAnnounce = context.AfterFunc(ctx, func() { l.Progress("interrupted; stopping workers and redis-server") })
	l.Progress("building dialer and worker")
	if l.Dialer, l.Worker, err = buildCommands(ctx, root, dir); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Progress writes one progress line, "COMMAND: " and format with args, to Options.Log. A
// Lab not made by Open, such as a test's &Lab{}, writes none.
func (l *Lab) Progress(format string, args ...any) {
	if l.opts.Log == nil {
		return
	}
	fmt.Fprintf(l.opts.Log, l.opts.Command+": "+format+"\n", args...)
}

// Close removes the temporary directory, or with Options.Keep says where it is kept. It
// does so once; later calls do nothing.
func (l *Lab) Close() {
	if l.closed {
		return
	}
	l.closed = true
	l.stopAnnounce()
	if l.opts.Keep {
		l.Progress("kept %s", l.Dir)
		return
	}
	_ = os.RemoveAll(l.Dir)
}

// moduleRoot returns the directory of the dialer's go.mod, as `go env GOMOD` finds it from
// the working directory. command names the command in the hint of its errors.
func moduleRoot(ctx context.Context, command string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (is the go command on PATH?)", err)
	}
	gomod := strings.TrimSpace(string(out))
	notHere := fmt.Errorf("run %s from inside the dialer repository: go run ./cmd/%s", command, command)
	if gomod == "" || gomod == os.DevNull {
		return "", notHere
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			if f[1] != modulePath {
				return "", fmt.Errorf("%s is module %s; %w", gomod, f[1], notHere)
			}
			return filepath.Dir(gomod), nil
		}
	}
	return "", fmt.Errorf("%s names no module; %w", gomod, notHere)
}

// buildCommands is what Open builds the commands with: build, or in a test that has built
// them once already, a copy of what it built.
var buildCommands = build

// build builds cmd/dialer and cmd/worker of the module at root into dir and returns their
// paths.
func build(ctx context.Context, root, dir string) (dialer, worker string, err error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/dialer", "./cmd/worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", "", ctx.Err()
		}
		return "", "", fmt.Errorf("go build ./cmd/dialer ./cmd/worker: %v\n%s", err, out)
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	return filepath.Join(dir, "dialer"+exe), filepath.Join(dir, "worker"+exe), nil
}
