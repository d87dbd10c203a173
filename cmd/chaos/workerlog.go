package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// logEvent returns the time of the first line of the worker log at path with message msg
// about task, and whether there is one. The time is the line's own time= field; it is zero
// when that cannot be read.
func logEvent(path, msg, task string) (time.Time, bool) {
	var at time.Time
	found := false
	_ = scanLog(path, func(l logLine) bool {
		if l.msg == msg && l.task == task {
			at, found = l.at, true
			return false
		}
		return true
	})
	return at, found
}

// logLine is what the chaos command reads of a worker's log line.
type logLine struct {
	at   time.Time // time=
	msg  string    // msg=, unquoted
	task string    // task=, "" when the line has none
}

// scanLog calls fn with each line of the worker log at path, as slog's text handler writes
// them, until fn returns false.
func scanLog(path string, fn func(logLine) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if !fn(parseLogLine(sc.Text())) {
			return nil
		}
	}
	return sc.Err()
}

// parseLogLine reads the time, msg and task fields of a slog text line.
func parseLogLine(line string) logLine {
	var l logLine
	if v, ok := strings.CutPrefix(line, "time="); ok {
		ts, _, _ := strings.Cut(v, " ")
		l.at, _ = time.Parse(time.RFC3339Nano, ts)
	}
	if _, v, ok := strings.Cut(line, " msg="); ok {
		if q, err := strconv.QuotedPrefix(v); err == nil {
			l.msg, _ = strconv.Unquote(q)
		} else {
			l.msg, _, _ = strings.Cut(v, " ")
		}
	}
	if _, v, ok := strings.Cut(line, " task="); ok {
		l.task, _, _ = strings.Cut(v, " ")
	}
	return l
}
