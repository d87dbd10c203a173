package worker

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ends delivers the announcements of campaign.EndedChannel (a webhook recorded a result or
// saw a call end) to the attempts of this process that follow those calls. One
// subscription serves every attempt of the process.
type ends struct {
	mu      sync.Mutex
	waiting map[string]chan struct{} // dial task ID -> woken when an announcement names it
}

// watch returns a channel that receives when attempt key's end is announced, and a function
// that stops watching. A missed announcement costs nothing but time: the attempt's poll
// looks at its record too.
func (e *ends) watch(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	if e.waiting == nil {
		e.waiting = map[string]chan struct{}{}
	}
	e.waiting[key] = ch
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		if e.waiting[key] == ch {
			delete(e.waiting, key)
		}
		e.mu.Unlock()
	}
}

func (e *ends) announce(key string) {
	e.mu.Lock()
	ch := e.waiting[key]
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default: // already woken
		}
	}
}

// ListenForEnds subscribes to the announcements of calls whose end a webhook recorded
// (campaign.EndedChannel) and wakes the attempts following them, until ctx is done. Without
// it attempts learn of ends only by polling. go-redis resubscribes after a lost connection;
// announcements made meanwhile are missed, and found at the attempt's next poll.
func (h *Handler) ListenForEnds(ctx context.Context) {
	sub := h.cfg.Store.SubscribeEnded(ctx)
	defer sub.Close()
	msgs := sub.Channel(redis.WithChannelSize(1024))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			h.ends.announce(m.Payload)
		}
	}
}
