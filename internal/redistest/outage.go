package redistest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// ErrUnreachable is the error an Outage gives each command it fails, worded as go-redis
// reports a refused connection.
var ErrUnreachable = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

// Outage is a go-redis hook (rdb.AddHook(o)) that fails commands with ErrUnreachable, as an
// unreachable Redis would, while Down is set: every command, or, when Only is set, only the
// commands of that name (lower case, as redis.Cmder.Name gives it), alone or in a pipeline,
// which then fails whole. The zero Outage lets everything through until Down is set.
type Outage struct {
	Down atomic.Bool
	Only string
}

// fails reports whether cmd fails now.
func (o *Outage) fails(cmd redis.Cmder) bool {
	return o.Down.Load() && (o.Only == "" || cmd.Name() == o.Only)
}

// DialHook lets dials through: the outage is in the commands.
func (o *Outage) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook fails a command that fails now (see Outage).
func (o *Outage) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if o.fails(cmd) {
			cmd.SetErr(ErrUnreachable)
			return ErrUnreachable
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook fails a whole pipeline (each command's error set) when any of its
// commands fails now.
func (o *Outage) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if o.fails(cmd) {
				for _, c := range cmds {
					c.SetErr(ErrUnreachable)
				}
				return ErrUnreachable
			}
		}
		return next(ctx, cmds)
	}
}
