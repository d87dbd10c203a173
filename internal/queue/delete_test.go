package queue

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
)

// TestDeleteTasks enqueues dial tasks of two campaigns, interleaved, in every state
// DeleteTasks handles (more pending ones than one page), and checks that deleting one
// campaign's tasks leaves exactly the other's.
func TestDeleteTasks(t *testing.T) {
	rdb, c := setup(t)
	ctx := t.Context()
	in := asynq.NewInspectorFromRedisClient(rdb)
	const pending = 1100
	for n := 1; n <= pending; n++ {
		for _, id := range []string{"aaaa", "bbbb"} {
			if n > 300 && id == "bbbb" {
				continue
			}
			if err := c.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: 1}, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	later := time.Now().Add(time.Hour)
	for _, id := range []string{"aaaa", "bbbb"} {
		if err := c.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 2}, later); err != nil {
			t.Fatal(err)
		}
		if err := in.ArchiveTask(Name, id+":2:1"); err != nil {
			t.Fatal(err)
		}
	}

	n, err := c.DeleteCampaignTasks(ctx, "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if want := pending + 1; n != want {
		t.Errorf("deleted %d tasks, want %d", n, want)
	}
	var left []string
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){in.ListPendingTasks, in.ListScheduledTasks, in.ListArchivedTasks} {
		for page := 1; ; page++ {
			tasks, err := list(Name, asynq.PageSize(1000), asynq.Page(page))
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) == 0 {
				break
			}
			for _, ti := range tasks {
				left = append(left, ti.ID)
			}
		}
	}
	var want []string
	for n := 1; n <= 300; n++ {
		want = append(want, fmt.Sprintf("bbbb:%d:1", n))
	}
	want = append(want, "bbbb:1:2")
	slices.Sort(left)
	slices.Sort(want)
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("tasks left (-want +got):\n%s", diff)
	}
	if _, err := in.GetTaskInfo(Name, "aaaa:7:1"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("task aaaa:7:1 after delete: %v, want ErrTaskNotFound", err)
	}
	// The IDs are free again: the same task can be enqueued anew.
	if err := c.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: "aaaa", ContactID: 7, Attempt: 1}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.GetTaskInfo(Name, "aaaa:7:1"); err != nil {
		t.Errorf("task aaaa:7:1 enqueued again: %v", err)
	}
}
