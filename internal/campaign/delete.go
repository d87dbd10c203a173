package campaign

import (
	"context"
	"errors"
	"fmt"
)

// TaskDeleter deletes the queued tasks of a campaign that no worker is running and returns
// how many; queue.Client implements it.
type TaskDeleter interface {
	DeleteCampaignTasks(ctx context.Context, id string) (int, error)
}

// discardUpload removes what a failed upload of campaign id stored: its keys and, when enq
// is also a TaskDeleter, the tasks it enqueued. A task a worker holds meanwhile is dropped
// by the worker, which finds no campaign.
func (s *Store) discardUpload(ctx context.Context, id string, enq Enqueuer) error {
	if td, ok := enq.(TaskDeleter); ok {
		if _, err := td.DeleteCampaignTasks(ctx, id); err != nil {
			return err
		}
	}
	return s.DeleteCampaign(ctx, id)
}

// IsLive reports whether campaign id may still dial or record calls: it is uploading, or
// some row has no final outcome yet. It returns ErrCampaignNotFound for an unknown campaign.
func (s *Store) IsLive(ctx context.Context, id string) (bool, *Status, error) {
	st, err := s.Status(ctx, id)
	if err != nil {
		return false, nil, err
	}
	return !st.Done, st, nil
}

// deleteRateStateOf deletes the calls-per-second state of campaign id, read to learn its
// account (see deleteRateState). A campaign whose record is gone has none left but what
// expires on its own, an interval after its last dial.
func (s *Store) deleteRateStateOf(ctx context.Context, id string) error {
	c, err := s.Campaign(ctx, id)
	if errors.Is(err, ErrCampaignNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete the calls-per-second state of campaign %s: %w", id, err)
	}
	return s.deleteRateState(ctx, c)
}

// deleteRateState deletes campaign c's calls-per-second state (RateKey, under its account's
// hash tag).
func (s *Store) deleteRateState(ctx context.Context, c *Campaign) error {
	if err := s.rdb.Unlink(ctx, "rate:"+RateKey(c)).Err(); err != nil {
		return fmt.Errorf("delete the calls-per-second state of campaign %s: %w", c.ID, err)
	}
	return nil
}
