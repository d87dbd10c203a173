package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestParseActive(t *testing.T) {
	tests := []struct {
		spec, want, wantZone, wantErr string
	}{
		{spec: "", want: "always"},
		{spec: "mon-fri 08:00-20:00 America/New_York", want: "mon-fri 08:00-20:00", wantZone: "America/New_York"},
		{spec: " sat,sun 10:00-16:00 Europe/London ", want: "sat-sun 10:00-16:00", wantZone: "Europe/London"},
		{spec: "mon-fri 08:00-20:00", wantErr: `--active "mon-fri 08:00-20:00" has no time zone; add the IANA zone the hours are in, such as "mon-fri 08:00-20:00 America/New_York"`},
		{spec: "mon-fri 08:00-20:00 Mars/Olympus", wantErr: "Mars/Olympus"},
		{spec: "mon-fri America/New_York", wantErr: "want days and hours"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			w, zone, err := parseActive(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseActive(%q) error = %v, want it to say %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil || w.String() != tt.want || (zone != nil && zone.String() != tt.wantZone) {
				t.Errorf("parseActive(%q) = %s, %v, %v; want %s %s", tt.spec, w, zone, err, tt.want, tt.wantZone)
			}
		})
	}
}

func TestParseFrequencyCap(t *testing.T) {
	for spec, want := range map[string]string{
		"":       "none",
		"3/24h":  "3 per 24h0m0s",
		"1/90m":  "1 per 1h30m0s",
		"3":      "error",
		"0/24h":  "error",
		"x/24h":  "error",
		"3/soon": "error",
	} {
		c, err := parseFrequencyCap(spec)
		got := "none"
		switch {
		case err != nil:
			got = "error"
		case c != nil:
			got = fmt.Sprintf("%d per %s", c.MaxCalls, c.Per)
		}
		if got != want {
			t.Errorf("parseFrequencyCap(%q) = %s (%v), want %s", spec, got, err, want)
		}
	}
}

// TestRunWithoutAPIKey: a worker started without INTERACTLY_API_KEY names the variable.
func TestRunWithoutAPIKey(t *testing.T) {
	getenv := func(k string) string {
		if k == "REDIS_URL" {
			return "redis://127.0.0.1:1"
		}
		return ""
	}
	err := run(t.Context(), nil, getenv, io.Discard)
	want := "INTERACTLY_API_KEY is not set; set it to your Interactly API key (workers send it as a Bearer token, and never log it)"
	if err == nil || err.Error() != want {
		t.Errorf("run without INTERACTLY_API_KEY = %v, want %q", err, want)
	}
}

// TestRunRefusesReconcileTimings: --reconcile-every and --reconcile-grace must be positive.
func TestRunRefusesReconcileTimings(t *testing.T) {
	for _, args := range [][]string{{"--reconcile-every", "0s"}, {"--reconcile-grace", "-1s"}} {
		err := run(t.Context(), args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "must be more than 0") {
			t.Errorf("run %v = %v, want a refusal saying both must be more than 0", args, err)
		}
	}
}
