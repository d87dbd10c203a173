// Package queue is the dialer's use of asynq: the dial task, enqueueing it, and the server
// that runs it. A dial task names one attempt of one contact; everything else the worker
// needs is in Redis under the campaign's keys (package campaign), so a pending task stays
// small.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TypeDial is the asynq task type of one dial attempt.
const TypeDial = "campaign:dial"

// Name is the asynq queue every dial task goes to.
const Name = "dialer"

// TaskTimeout bounds one run of a dial task: waiting for a slot (at most SlotWait in the
// worker), ringing, a call of up to 15 minutes (the assistant's default maxCallDuration of
// 900 s), and waiting for the analysis. A run cut off by it is retried and resumes the call.
const TaskTimeout = 40 * time.Minute

// MaxRetry is how often asynq retries a dial task that failed (an API error past the client's
// own retries, a lost worker). The worker records outcome error on the last try.
const MaxRetry = 12

// dialPayload is the JSON payload of a TypeDial task, {"c":campaign,"n":contact,"a":attempt}:
// a campaign.AttemptRef with the task's JSON keys. Tasks queued by every earlier version
// carry it, so its keys never change.
type dialPayload struct {
	CampaignID string `json:"c"`
	ContactID  int    `json:"n"`
	Attempt    int    `json:"a"`
}

// NewDialTask returns the TypeDial task that dials attempt ref. Its asynq task ID, set by
// EnqueueDial, is ref.String().
func NewDialTask(ref campaign.AttemptRef) *asynq.Task {
	payload, _ := json.Marshal(dialPayload(ref))
	return asynq.NewTask(TypeDial, payload)
}

// ParseDialTask decodes a TypeDial task's payload into the attempt it dials. It returns an
// error when the payload is not JSON or lacks the campaign, or a contact or attempt of 1 or
// more.
func ParseDialTask(task *asynq.Task) (campaign.AttemptRef, error) {
	var p dialPayload
	if err := json.Unmarshal(task.Payload(), &p); err != nil {
		return campaign.AttemptRef{}, fmt.Errorf("decode %s payload: %w", task.Type(), err)
	}
	t := campaign.AttemptRef(p)
	if t.CampaignID == "" || t.ContactID < 1 || t.Attempt < 1 {
		return t, fmt.Errorf("decode %s payload %s: campaign, contact and attempt are required", task.Type(), task.Payload())
	}
	return t, nil
}

// Client enqueues dial tasks. It implements campaign.Enqueuer.
type Client struct {
	asynq *asynq.Client
	rdb   redis.UniversalClient
}

// NewClient returns a Client on rdb. Close does not close rdb.
func NewClient(rdb redis.UniversalClient) *Client {
	return &Client{asynq: asynq.NewClientFromRedisClient(rdb), rdb: rdb}
}

// EnqueueDial enqueues the dial task of attempt ref, due at at (zero: now). Its asynq task ID
// is ref.String(), "campaign:contact:attempt": asynq refuses a second task with the same ID
// while the first exists, so a task that exists already is left as it is and counts as
// success, and enqueueing an attempt twice makes one task.
func (c *Client) EnqueueDial(ctx context.Context, ref campaign.AttemptRef, at time.Time) error {
	opts := []asynq.Option{
		asynq.Queue(Name), asynq.TaskID(ref.String()),
		asynq.MaxRetry(MaxRetry), asynq.Timeout(TaskTimeout),
	}
	if !at.IsZero() {
		opts = append(opts, asynq.ProcessAt(CeilSecond(at)))
	}
	_, err := c.asynq.EnqueueContext(ctx, NewDialTask(ref), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", ref, err)
	}
	return nil
}

// CeilSecond returns t rounded up to a whole second (t itself when it is one). asynq keeps a
// scheduled task's time as whole Unix seconds, rounding down, and would run a task due at
// 12:00:01.8 from 12:00:01.0; scheduled at the rounded-up time, it runs no earlier than due.
func CeilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// Close closes the client.
func (c *Client) Close() error { return c.asynq.Close() }

// RetryLaterError asks asynq to run the task again after In, without counting it as a
// failure: the task could not proceed yet (its campaign is still uploading, no concurrency
// slot came free in time), and nothing went wrong.
type RetryLaterError struct {
	In     time.Duration
	Reason string
}

// Error returns "retry in <In>: <Reason>".
func (e *RetryLaterError) Error() string {
	return fmt.Sprintf("retry in %s: %s", e.In, e.Reason)
}

// ServerConfig configures NewServer. The zero value works.
type ServerConfig struct {
	// Concurrency is how many tasks one process runs at once. A task spends most of its
	// life waiting on a live call, so this is high. Defaults to 100.
	Concurrency int
	// ShutdownTimeout is how long a stopping worker waits for running tasks before
	// handing them back to the queue; a handed-back task resumes its call elsewhere.
	// Defaults to 5s.
	ShutdownTimeout time.Duration
	// Logger receives asynq's own log lines. Defaults to slog.Default().
	Logger *slog.Logger
	// BaseContext is the parent of every task's context. Defaults to context.Background.
	BaseContext func() context.Context
	// HandedBack, when set, is called for each running task a stopping server hands back
	// to the queue, instead of asynq's one warning per task; the caller sums them up.
	HandedBack func()
}

// NewServer returns an asynq server for the dial queue on rdb. A handler error of type
// *RetryLaterError is retried after its In without counting against MaxRetry; any other error
// is retried with exponential backoff (2s, 4s, … capped at 5 minutes, with jitter).
func NewServer(rdb redis.UniversalClient, cfg ServerConfig) *asynq.Server {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 100
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{Name: 1},
		ShutdownTimeout:          cfg.ShutdownTimeout,
		BaseContext:              cfg.BaseContext,
		DelayedTaskCheckInterval: time.Second,
		TaskCheckInterval:        200 * time.Millisecond,
		Logger:                   slogAdapter{l: cfg.Logger.With("component", "asynq"), handedBack: cfg.HandedBack},
		LogLevel:                 asynq.WarnLevel,
		IsFailure: func(err error) bool {
			var later *RetryLaterError
			return !errors.As(err, &later)
		},
		RetryDelayFunc: retryDelay,
	})
}

func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	var later *RetryLaterError
	if errors.As(err, &later) {
		// asynq schedules the retry at now+In in whole seconds, rounded down: round the due
		// time up instead, so that the task does not come back before it can proceed.
		now := time.Now()
		return CeilSecond(now.Add(later.In)).Sub(now)
	}
	d := min(2*time.Second<<min(n, 10), 5*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// AsynqLogger returns an asynq.Logger writing to l, its lines marked component=asynq.
func AsynqLogger(l *slog.Logger) asynq.Logger {
	return slogAdapter{l: l.With("component", "asynq")}
}

// slogAdapter makes an slog.Logger an asynq.Logger. With handedBack set, asynq's warning
// for each task it hands back at shutdown becomes a call of handedBack and a debug line.
type slogAdapter struct {
	l          *slog.Logger
	handedBack func()
}

// quitting starts asynq's warning for a running task it hands back to the queue at shutdown.
const quitting = "Quitting worker."

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any) {
	msg := fmt.Sprint(args...)
	if a.handedBack != nil && strings.HasPrefix(msg, quitting) {
		a.handedBack()
		a.l.Debug(msg)
		return
	}
	a.l.Warn(msg)
}
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
