package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/lab"
)

// dialerCmd runs the built dialer command with args against env and returns its standard
// output. The error carries its standard error.
func dialerCmd(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := lab.Run(cmd); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("dialer %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// newPool returns a pool of chaos workers of bin, none started yet: named prefix1,
// prefix2, …, each running concurrency dial tasks at once, logging at info level to a file
// of its own in dir (the log lines the figures read), and replaced when it exits by itself,
// with a progress line through log.
func newPool(bin string, env []string, dir, prefix string, concurrency int, log func(string, ...any)) *lab.Pool {
	return lab.NewPool(lab.PoolConfig{
		Bin: bin, Env: env, Prefix: prefix, LogDir: dir, Replace: true, Log: log,
		Args: []string{"--log-level", "info", "--concurrency", strconv.Itoa(concurrency), "--shutdown-timeout", "1s"},
	})
}

// killRandom kills a running worker of p drawn by rng with SIGKILL, waits for it to exit
// and starts a replacement at once. It returns the names of both.
func killRandom(p *lab.Pool, rng *rand.Rand) (killed, replacement string, err error) {
	live := p.Live()
	if len(live) == 0 {
		return "", "", errors.New("no worker is running")
	}
	killed = live[rng.IntN(len(live))].Name
	if err := p.Kill(killed); err != nil {
		return "", "", err
	}
	replacement, err = p.StartOne()
	return killed, replacement, err
}
