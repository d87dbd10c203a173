// Package redisconn opens the Redis that holds the dialer's queue and records, from the
// REDIS_URL every command reads, and keeps its password out of messages.
package redisconn

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() {
	// go-redis logs pool trouble on its own, with addresses, beside the errors it returns;
	// the dialer reports those errors itself, once, without secrets.
	redis.SetLogger(silent{})
}

type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}

// EnvVar is the environment variable holding the Redis URL.
const EnvVar = "REDIS_URL"

// Open connects to the Redis at rawURL (redis://[user:password@]host:port[/db] or rediss://
// for TLS) and pings it. Errors name the URL without its password.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v; want redis://[user:password@]host:port[/db]", EnvVar, Redact(rawURL), redactErr(err, rawURL))
	}
	// A dial task holds a connection only for single commands, but a worker runs many at once.
	opt.PoolSize = max(opt.PoolSize, 64)
	rdb := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to Redis at %s: %v; is it running, and is %s right?", Redact(rawURL), redactErr(err, rawURL), EnvVar)
	}
	return rdb, nil
}

// Redact returns rawURL with any password replaced by "xxxxx", for messages.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redactErr keeps a password that an error may quote out of it.
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
