package queue

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// asynq keeps a queue's tasks under asynq:{QUEUE}:…: each task's hash at t:ID, and its ID in
// the list pending or in one of the sorted sets scheduled, retry, archived, completed (and
// active while a worker runs it). These names are asynq's (internal/base/base.go, v0.26);
// TestDeleteTasks checks them against a real asynq client.
func asynqKey(queue, name string) string { return "asynq:{" + queue + "}:" + name }

// deletePendingPageScript deletes, from one page of a queue's pending list, the tasks whose
// ID starts with a prefix, and their task hashes. The page's matches are first overwritten
// with a marker and then removed with one LREM that stops after them, so a page costs its
// own length plus its offset, never a scan per task.
//
//	KEYS[1] -> asynq:{Q}:pending
//	ARGV[1] -> the page's first index (0 is the list's head)
//	ARGV[2] -> page size
//	ARGV[3] -> task ID prefix, e.g. "C:"
//	ARGV[4] -> task hash key prefix asynq:{Q}:t:
//
// Returns {the next page's first index, or -1 past the end; tasks deleted}.
var deletePendingPageScript = redis.NewScript(`
local start = tonumber(ARGV[1])
local ids = redis.call("LRANGE", KEYS[1], start, start + tonumber(ARGV[2]) - 1)
if #ids == 0 then
  return {-1, 0}
end
local marker = "\0deleted"
local n = 0
for j, id in ipairs(ids) do
  if string.sub(id, 1, #ARGV[3]) == ARGV[3] then
    -- DEL first: once a script has written, Redis lets its LSET run under a full Redis.
    redis.call("DEL", ARGV[4] .. id)
    redis.call("LSET", KEYS[1], start + j - 1, marker)
    n = n + 1
  end
end
if n > 0 then
  redis.call("LREM", KEYS[1], n, marker)
end
return {start + #ids - n, n}
`)

// deleteMembersScript deletes tasks from one of a queue's sorted sets and their hashes.
//
//	KEYS[1] -> asynq:{Q}:scheduled (or retry, archived, completed)
//	ARGV[1] -> task hash key prefix asynq:{Q}:t:
//	ARGV[2…] -> task IDs
//
// Returns how many were still in the set.
var deleteMembersScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  if redis.call("ZREM", KEYS[1], ARGV[i]) == 1 then
    redis.call("DEL", ARGV[1] .. ARGV[i])
    n = n + 1
  end
end
return n
`)

// deleteBatch is how many tasks one step of DeleteTasks looks at: each step is one short
// script, so Redis serves others between them.
const deleteBatch = 1000

// DeleteTasks deletes every task of asynq queue queueName whose ID starts with idPrefix
// (such as "C:" for campaign C's dial tasks) that is pending, scheduled, waiting to be
// retried, archived or kept as completed, and returns how many it deleted. Tasks a worker
// is running are left to it. It works in batches of 1,000 (ZSCAN and paged LRANGE, never
// KEYS), so it never blocks Redis for long.
func DeleteTasks(ctx context.Context, rdb redis.UniversalClient, queueName, idPrefix string) (int, error) {
	taskPrefix := asynqKey(queueName, "t:")
	deleted := 0
	for start := int64(0); start >= 0; {
		res, err := deletePendingPageScript.Run(ctx, rdb, []string{asynqKey(queueName, "pending")}, start, deleteBatch, idPrefix, taskPrefix).Int64Slice()
		if err != nil {
			return deleted, fmt.Errorf("delete pending tasks %s* of queue %s: %w", idPrefix, queueName, err)
		}
		start = res[0]
		deleted += int(res[1])
	}
	for _, set := range []string{"scheduled", "retry", "archived", "completed"} {
		key := asynqKey(queueName, set)
		var cursor uint64
		for {
			members, next, err := rdb.ZScan(ctx, key, cursor, idPrefix+"*", deleteBatch).Result()
			if err != nil {
				return deleted, fmt.Errorf("find %s tasks %s* of queue %s: %w", set, idPrefix, queueName, err)
			}
			args := []any{taskPrefix}
			for i := 0; i < len(members); i += 2 { // member, score, member, score, …
				args = append(args, members[i])
			}
			if len(args) > 1 {
				n, err := deleteMembersScript.Run(ctx, rdb, []string{key}, args...).Int()
				if err != nil {
					return deleted, fmt.Errorf("delete %s tasks %s* of queue %s: %w", set, idPrefix, queueName, err)
				}
				deleted += n
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	return deleted, nil
}

// DeleteCampaignTasks deletes the dial tasks of campaign id that no worker is running (see
// DeleteTasks), and returns how many. It implements campaign.TaskDeleter.
func (c *Client) DeleteCampaignTasks(ctx context.Context, id string) (int, error) {
	return DeleteTasks(ctx, c.rdb, Name, id+":")
}
