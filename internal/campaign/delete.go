package campaign

import (
	"context"
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

// rateKeyOf is the calls-per-second state of campaign id as redis_rate stores it: RateKey
// with the "rate:" redis_rate adds, outside the campaign's "dialer:{C}:" keys.
func rateKeyOf(id string) string { return "rate:" + RateKey(id) }

// deleteRateState deletes campaign id's calls-per-second state.
func (s *Store) deleteRateState(ctx context.Context, id string) error {
	if err := s.rdb.Unlink(ctx, rateKeyOf(id)).Err(); err != nil {
		return fmt.Errorf("delete campaign %s: %w", id, err)
	}
	return nil
}
