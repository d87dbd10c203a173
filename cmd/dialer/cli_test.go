package main

import (
	"strings"
	"testing"
)

// TestCLIConventions: help asked for goes to stdout and exits 0; a command line that is
// wrong prints the usage to stderr and exits 2.
func TestCLIConventions(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout []string // "" none: stdout must stay empty
		wantStderr []string
	}{
		{name: "--help", args: []string{"--help"}, wantExit: 0, wantStdout: []string{"usage: dialer COMMAND", "INTERACTLY_WEBHOOK_SECRET", "INTERACTLY_API_KEY", "REDIS_URL"}},
		{name: "help", args: []string{"help"}, wantExit: 0, wantStdout: []string{"usage: dialer COMMAND"}},
		{name: "help upload", args: []string{"help", "upload"}, wantExit: 0, wantStdout: []string{"usage: dialer upload --campaign", "-contacts"}},
		{name: "help of an unknown command", args: []string{"help", "uplod"}, wantExit: 2, wantStderr: []string{"usage: dialer COMMAND"}},
		{name: "upload -h", args: []string{"upload", "-h"}, wantExit: 0, wantStdout: []string{"usage: dialer upload", "-delimiter"}},
		{name: "status --help", args: []string{"status", "--help"}, wantExit: 0, wantStdout: []string{"usage: dialer status"}},
		{name: "suppress -h", args: []string{"suppress", "-h"}, wantExit: 0, wantStdout: []string{"usage: dialer suppress"}},
		{name: "list -h shows -json as a bool", args: []string{"list", "-h"}, wantExit: 0, wantStdout: []string{"  -json\n"}},
		{name: "no command", args: nil, wantExit: 2, wantStderr: []string{"usage: dialer COMMAND"}},
		{name: "unknown command", args: []string{"uplod"}, wantExit: 2, wantStderr: []string{"usage: dialer COMMAND"}},
		{name: "unknown flag", args: []string{"upload", "--campain", "x.yaml"}, wantExit: 2, wantStderr: []string{"usage: dialer upload"}},
		{name: "bad flag value", args: []string{"list", "--limit", "many"}, wantExit: 2, wantStderr: []string{"usage: dialer list"}},
		{name: "missing argument", args: []string{"status"}, wantExit: 2, wantStderr: []string{"usage: dialer status"}},
		{name: "missing required flag", args: []string{"upload", "--campaign", "x.yaml"}, wantExit: 2, wantStderr: []string{"usage: dialer upload"}},
		{name: "extra argument", args: []string{"pause", "a", "b"}, wantExit: 2, wantStderr: []string{"usage: dialer pause"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, stdout, stderr := testEnv(t, nil)
			err := dispatch(t.Context(), e, tt.args)
			if got := exitCode(err); got != tt.wantExit {
				t.Errorf("exit code %d (%v), want %d", got, err, tt.wantExit)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout =\n%s\nwant it to hold %q", stdout, want)
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr =\n%s\nwant it to hold %q", stderr, want)
				}
			}
			if len(tt.wantStdout) == 0 && stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if len(tt.wantStderr) == 0 && stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

// TestUnknownCampaign: an ID that names no campaign points at dialer list.
func TestUnknownCampaign(t *testing.T) {
	_, e, _, _ := redisEnv(t)
	for _, cmd := range []string{"status", "pause", "resume", "cancel", "report"} {
		args := []string{cmd, "nosuchcampaign"}
		if cmd == "report" {
			args = append(args, "--out", "-")
		}
		err := dispatch(t.Context(), e, args)
		want := `campaign "nosuchcampaign": campaign not found; ` + "`dialer list`" + ` shows the campaigns there are`
		if err == nil || err.Error() != want || exitCode(err) != 1 {
			t.Errorf("dialer %s = %v, want %q, exit 1", strings.Join(args, " "), err, want)
		}
	}
}
