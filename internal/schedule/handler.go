package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/queue"
)

// CampaignID is the ID of the campaign that tick of schedule scheduleID creates: 16
// lowercase base32 characters, like campaign.NewCampaignID, of a SHA-256 of both. The same
// tick always gives the same ID, which is what makes a tick create one campaign.
func CampaignID(scheduleID string, tick time.Time) string {
	sum := sha256.Sum256([]byte(scheduleID + ":" + strconv.FormatInt(tick.Unix(), 10)))
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10]))
}

// UploadFunc creates campaign campaignID from the files of s, as `dialer upload` does. On
// an error it must leave no campaign behind (campaign.Store.Upload does not).
type UploadFunc func(ctx context.Context, s *Schedule, campaignID string) error

// Handler runs TypeCreate tasks: it uploads the tick's campaign under CampaignID, unless
// that campaign exists. Its fields are required except Logger (defaults to slog.Default()).
type Handler struct {
	Schedules *Store
	Campaigns *campaign.Store
	Upload    UploadFunc
	Logger    *slog.Logger
}

// ProcessTask creates the campaign of one tick. It returns nil when the campaign was
// created, exists already, or its schedule was removed; an error (the upload failed) makes
// asynq retry the task, up to MaxRetry times. A campaign left in state uploading by a
// process that died mid-upload is deleted and uploaded again: asynq runs one task per
// TaskID at a time, so no other upload of it can be running.
func (h *Handler) ProcessTask(ctx context.Context, task *asynq.Task) error {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	t, err := ParseTick(task)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	s, err := h.Schedules.Get(ctx, t.ScheduleID)
	if errors.Is(err, ErrScheduleNotFound) {
		log.Info("schedule removed; tick skipped", "schedule", t.ScheduleID, "tick", t.Tick)
		return nil
	}
	if err != nil {
		return err
	}
	id := CampaignID(t.ScheduleID, t.Tick)
	c, err := h.Campaigns.Campaign(ctx, id)
	switch {
	case err == nil && c.Upload != campaign.UploadComplete: // in progress, or failed
		log.Warn("campaign of tick was left half-uploaded; uploading it again", "schedule", s.ID, "tick", t.Tick, "campaign", id)
		if err := h.Campaigns.DeleteCampaign(ctx, id); err != nil {
			return err
		}
	case err == nil:
		log.Info("campaign of tick exists; skipped", "schedule", s.ID, "tick", t.Tick, "campaign", id)
		return nil
	case !errors.Is(err, campaign.ErrCampaignNotFound):
		return err
	}
	if err := h.Upload(ctx, s, id); err != nil {
		return fmt.Errorf("schedule %s tick %s: campaign %s: %w", s.ID, t.Tick.Format(time.RFC3339), id, err)
	}
	log.Info("campaign created", "schedule", s.ID, "tick", t.Tick, "campaign", id)
	return nil
}

// ServerConfig configures NewServer. The zero value works.
type ServerConfig struct {
	// ShutdownTimeout is how long a stopping server waits for a running upload before
	// handing its task back to the queue. Defaults to 10s.
	ShutdownTimeout time.Duration
	// Logger receives asynq's own warnings. Defaults to slog.Default().
	Logger *slog.Logger
}

// NewServer returns an asynq server for Queue on rdb that runs one task at a time. Every
// scheduler process runs one; TaskID and CampaignID keep a tick to one campaign.
func NewServer(rdb redis.UniversalClient, cfg ServerConfig) *asynq.Server {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              1,
		Queues:                   map[string]int{Queue: 1},
		ShutdownTimeout:          cfg.ShutdownTimeout,
		DelayedTaskCheckInterval: time.Second,
		TaskCheckInterval:        200 * time.Millisecond,
		Logger:                   queue.AsynqLogger(cfg.Logger),
		LogLevel:                 asynq.WarnLevel,
	})
}
