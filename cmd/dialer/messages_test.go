package main

import (
	"context"
	"net"
	"testing"

	"github.com/dialerhq/dialer/internal/redistest"
)

// TestMessages: what a new operator trips over gets a message that says what to do.
func TestMessages(t *testing.T) {
	rdb, _ := redistest.Setup(t, 6)
	_, campaignPath, contactsPath := fastFiles(t)
	noSuchHost := func(_ context.Context, host string) ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{
			name: "call without an API key",
			args: []string{"call", "end", "CC-1"},
			want: "INTERACTLY_API_KEY is not set; dialer call needs your Interactly API key in it",
		},
		{
			name: "cancel --hangup without an API key",
			vars: map[string]string{"REDIS_URL": redistest.URL(rdb)},
			args: []string{"cancel", "c1", "--hangup"},
			want: "INTERACTLY_API_KEY is not set; cancel --hangup needs your Interactly API key in it",
		},
		{
			name: "run without an API key or --simulate",
			args: []string{"run", "--campaign", campaignPath, "--contacts", contactsPath, "--out", "-"},
			want: "INTERACTLY_API_KEY is not set; set it to your Interactly API key, or pass --simulate to try the dialer without calling anyone",
		},
		{
			name: "call to a host that does not resolve",
			vars: map[string]string{"INTERACTLY_API_KEY": "k", "INTERACTLY_BASE_URL": "https://api.interactly.invalid"},
			args: []string{"call", "end", "CC-1"},
			want: "call CC-1: cannot reach Interactly at https://api.interactly.invalid: the host name api.interactly.invalid does not resolve (no such host); check INTERACTLY_BASE_URL and this machine's DNS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(t, tt.vars)
			e.lookupHost = noSuchHost
			err := dispatch(t.Context(), e, tt.args)
			if err == nil || err.Error() != tt.want {
				t.Errorf("dialer %v = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}
