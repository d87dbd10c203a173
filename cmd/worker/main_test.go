package main

import (
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
		{spec: "mon-fri 08:00-20:00", wantErr: "08:00-20:00"},
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
