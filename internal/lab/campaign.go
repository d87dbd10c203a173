package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Campaign is a campaign file for a measuring command's generated contacts: every call
// answered by the assistant of campaigns/example.yaml, each contact's number in its phone
// column.
type Campaign struct {
	// Name is the campaign's name.
	Name string
	// CPS and MaxLive are rateLimit.callsPerSecond and rateLimit.maxConcurrentCalls.
	CPS     float64
	MaxLive int
	// MaxAttempts is retry.maxAttempts. Defaults to 1: each contact dialed once.
	MaxAttempts int
	// RetryOn are the outcomes dialed again (retry.retryOn), RetryDelay after the last
	// dial (retry.delay). Both are left out of the file when RetryOn is empty.
	RetryOn    []string
	RetryDelay time.Duration
	// Poll and AnalysisWait are poll.interval and poll.analysisWait.
	Poll, AnalysisWait time.Duration
	// NameColumn is the contacts' column of names (contacts.nameColumn). Defaults to
	// "name".
	NameColumn string
	// Extra is more of the file, appended as written: top-level keys in YAML, e.g. a
	// variant's own block. Defaults to none.
	Extra string
}

// YAML returns the campaign file's text.
func (c Campaign) YAML() string {
	nameColumn := c.NameColumn
	if nameColumn == "" {
		nameColumn = "name"
	}
	retry := fmt.Sprintf("{maxAttempts: %d}", max(c.MaxAttempts, 1))
	if len(c.RetryOn) > 0 {
		retry = fmt.Sprintf("{maxAttempts: %d, retryOn: [%s], delay: %s}", max(c.MaxAttempts, 1), strings.Join(c.RetryOn, ", "), c.RetryDelay)
	}
	return fmt.Sprintf(`name: %s
assistantId: 678a253ca6d866573043502e
phoneNumberId: 5f7b1b1b1b1b1b1b1b1b1b1b
contacts: {numberColumn: phone, nameColumn: %s}
retry: %s
rateLimit: {callsPerSecond: %g, maxConcurrentCalls: %d}
poll: {interval: %s, analysisWait: %s}
`, c.Name, nameColumn, retry, c.CPS, c.MaxLive, c.Poll, c.AnalysisWait) + c.Extra
}

// Write writes the campaign file to path, readable by its owner only.
func (c Campaign) Write(path string) error {
	return os.WriteFile(path, []byte(c.YAML()), 0o600)
}

// WriteFile creates the file at path (truncating one there) and has write fill it through
// a buffer, which it flushes. The error is the file's, or write's wrapped as "write PATH:
// …".
func WriteFile(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
