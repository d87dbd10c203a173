package auth

import (
	"fmt"
	"strings"
)

// Scope is what a token may do. Scopes are ordered, and each includes every lower one:
// ScopeRead < ScopeExport < ScopeOperate < ScopeAdmin. The zero Scope is no scope at all: it
// allows nothing and is not a valid scope for a token or a route.
type Scope int

const (
	// ScopeRead sees campaigns, their counts and metrics, but not contacts' personal data.
	ScopeRead Scope = iota + 1
	// ScopeExport also reads contact rows and reports, which hold names, numbers and call
	// summaries.
	ScopeExport
	// ScopeOperate also creates, pauses, resumes, cancels and edits campaigns, redials or
	// skips contacts, and controls live calls.
	ScopeOperate
	// ScopeAdmin also manages tokens, accounts, suppression lists and schedules, reads the
	// audit log and uses the queue monitor's writable mount.
	ScopeAdmin
)

// Scopes lists every valid scope, lowest first.
var Scopes = []Scope{ScopeRead, ScopeExport, ScopeOperate, ScopeAdmin}

var scopeNames = [...]string{"", "read", "export", "operate", "admin"}

// String returns the scope's name ("read", "export", "operate", "admin"), or "none" for the
// zero Scope.
func (s Scope) String() string {
	if s > 0 && int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	if s == 0 {
		return "none"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// Valid reports whether s is one of Scopes.
func (s Scope) Valid() bool { return s >= ScopeRead && s <= ScopeAdmin }

// Includes reports whether a caller holding s may do what needs scope need.
func (s Scope) Includes(need Scope) bool { return s.Valid() && need.Valid() && s >= need }

// ParseScope returns the scope named s (read, export, operate or admin; case-insensitive).
// Any other name is an error that lists the valid ones.
func ParseScope(s string) (Scope, error) {
	for _, sc := range Scopes {
		if strings.EqualFold(s, sc.String()) {
			return sc, nil
		}
	}
	return 0, fmt.Errorf("scope %q: want read, export, operate or admin", s)
}

// MarshalText returns the scope's name, so a Scope is a string in JSON.
func (s Scope) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("scope %d is not valid", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses a scope's name, as ParseScope does.
func (s *Scope) UnmarshalText(b []byte) error {
	sc, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = sc
	return nil
}
