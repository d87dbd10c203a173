package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Config configures NewScheduler. The zero value works.
type Config struct {
	// Leader configures the lock. See LeaderConfig for its defaults.
	Leader LeaderConfig
	// ReloadInterval is how often the leader reads the schedules again. Add and Remove
	// also tell it at once over Redis pub/sub; this is the fallback. Defaults to 10s.
	ReloadInterval time.Duration
	// CatchUp is how far back a new leader looks for ticks, so that ticks due while no
	// one led (a leader crashed, and the lock ran out) are still enqueued. Ticks the old
	// leader enqueued are not enqueued twice (TaskID) and make no second campaign
	// (CampaignID). Never before the schedule was added. Defaults to 1m.
	CatchUp time.Duration
	// Logger receives a line per tick enqueued and per change of leader. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Leader = c.Leader.WithDefaults()
	if c.ReloadInterval <= 0 {
		c.ReloadInterval = 10 * time.Second
	}
	if c.CatchUp <= 0 {
		c.CatchUp = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Scheduler enqueues one TypeCreate task per tick of every stored schedule, while it holds
// the leader lock. Run any number of them: one leads at a time.
//
// asynq's own Scheduler is not used for the ticks: it enqueues every tick of an entry with
// the options given at Register, so it cannot give each tick its own TaskID, and its jobs
// are not told which tick they run for. The ticks here come from robfig/cron's parser
// (the one asynq uses) and a timer per schedule.
type Scheduler struct {
	rdb    redis.UniversalClient
	store  *Store
	leader *Leader
	cfg    Config
}

// NewScheduler returns a Scheduler on rdb.
func NewScheduler(rdb redis.UniversalClient, cfg Config) *Scheduler {
	cfg = cfg.WithDefaults()
	return &Scheduler{rdb: rdb, store: NewStore(rdb), leader: NewLeader(rdb, cfg.Leader), cfg: cfg}
}

// Run contends for leadership and, while leading, enqueues ticks. It returns nil once ctx
// is done, after releasing the lock.
func (s *Scheduler) Run(ctx context.Context) error {
	client := asynq.NewClientFromRedisClient(s.rdb)
	defer client.Close()
	return s.leader.Run(ctx, func(ctx context.Context) { s.lead(ctx, client) }, func(err error) {
		s.cfg.Logger.Warn("scheduler lock", "err", err)
	})
}

type running struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// lead runs one timer goroutine per schedule until ctx is done.
func (s *Scheduler) lead(ctx context.Context, client *asynq.Client) {
	log := s.cfg.Logger
	log.Info("scheduler leads")
	defer log.Info("scheduler no longer leads")

	sub := s.rdb.Subscribe(ctx, changedChannel())
	defer sub.Close()
	changed := sub.Channel()

	var wg sync.WaitGroup
	entries := map[string]running{}
	defer func() {
		for _, r := range entries {
			r.cancel()
		}
		wg.Wait()
	}()
	reload := func() {
		list, err := s.store.List(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("read schedules", "err", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, sc := range list {
			seen[sc.ID] = true
			if _, ok := entries[sc.ID]; ok {
				continue
			}
			rctx, cancel := context.WithCancel(ctx)
			r := running{cancel: cancel, done: make(chan struct{})}
			entries[sc.ID] = r
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(r.done)
				s.tick(rctx, client, sc)
			}()
		}
		for id, r := range entries {
			if !seen[id] {
				r.cancel()
				<-r.done
				delete(entries, id)
			}
		}
	}
	t := time.NewTicker(s.cfg.ReloadInterval)
	defer t.Stop()
	for {
		reload()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		}
	}
}

// tick enqueues the ticks of sc until ctx is done, starting CatchUp ago.
func (s *Scheduler) tick(ctx context.Context, client *asynq.Client, sc *Schedule) {
	from := s.cfg.Now().Add(-s.cfg.CatchUp)
	if from.Before(sc.CreatedAt) {
		from = sc.CreatedAt
	}
	next, err := sc.Next(from)
	if err != nil {
		s.cfg.Logger.Error("schedule skipped", "schedule", sc.ID, "err", err)
		return
	}
	for {
		_ = clock.Sleep(ctx, next.Sub(s.cfg.Now())) // ctx is checked below: it may end as the tick comes due
		if ctx.Err() != nil {
			return
		}
		if err := Enqueue(ctx, client, Tick{ScheduleID: sc.ID, Tick: next}); err != nil {
			s.cfg.Logger.Error("enqueue tick", "schedule", sc.ID, "tick", next, "err", err)
		}
		next, _ = sc.Next(next)
	}
}

// TypeCreate is the asynq task type of one tick of one schedule: create its campaign.
const TypeCreate = "campaign:create"

// Queue is the asynq queue of TypeCreate tasks.
const Queue = "dialer-schedule"

// MaxRetry is how often a tick whose upload failed (say, the contact file is missing or
// broken) is tried again, with asynq's backoff, before it is given up and logged.
const MaxRetry = 3

// TaskTimeout bounds one upload: a million rows take under a minute.
const TaskTimeout = 30 * time.Minute

// Tick is the payload of a TypeCreate task: the tick of schedule ScheduleID that was due at
// Tick (UTC, whole seconds).
type Tick struct {
	ScheduleID string    `json:"scheduleId"`
	Tick       time.Time `json:"tick"`
}

// TaskID is "schedule:<id>:<tick Unix seconds>". asynq refuses a second task with the same
// ID while the first exists, so a tick enqueued by two leaders is one task.
func (t Tick) TaskID() string {
	return fmt.Sprintf("schedule:%s:%d", t.ScheduleID, t.Tick.Unix())
}

// Enqueue enqueues tick t on Queue. A task that exists already counts as success.
func Enqueue(ctx context.Context, client *asynq.Client, t Tick) error {
	t.Tick = t.Tick.UTC().Truncate(time.Second)
	payload, _ := json.Marshal(t)
	_, err := client.EnqueueContext(ctx, asynq.NewTask(TypeCreate, payload),
		asynq.Queue(Queue), asynq.TaskID(t.TaskID()), asynq.MaxRetry(MaxRetry), asynq.Timeout(TaskTimeout))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", t.TaskID(), err)
	}
	return nil
}

// ParseTick decodes a TypeCreate payload.
func ParseTick(task *asynq.Task) (Tick, error) {
	var t Tick
	if err := json.Unmarshal(task.Payload(), &t); err != nil {
		return t, fmt.Errorf("decode %s payload: %w", task.Type(), err)
	}
	if t.ScheduleID == "" || t.Tick.IsZero() {
		return t, fmt.Errorf("decode %s payload %s: scheduleId and tick are required", task.Type(), task.Payload())
	}
	return t, nil
}
