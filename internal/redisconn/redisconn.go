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

// Open connects to the Redis at rawURL and pings it. rawURL is one of
//
//	redis://[user:password@]host:port[/db]       one server; rediss:// for TLS
//	redis://[user:password@]sentinel:26379[/db]?master_name=NAME&addr=sentinel2:26379&password=MASTERPW
//	                                              Redis Sentinel: the master NAME, found through the
//	                                              sentinels (user:password are theirs; password= is
//	                                              the master's), followed across failovers
//
// Errors name the URL without its passwords.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	rdb, err := newClient(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v; want redis://[user:password@]host:port[/db], or a Sentinel URL with ?master_name=", EnvVar, Redact(rawURL), redactErr(err, rawURL))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to Redis at %s: %v; is it running, and is %s right?", Redact(rawURL), redactErr(err, rawURL), EnvVar)
	}
	return rdb, nil
}

// newClient returns a client for rawURL: a failover client when it names a Sentinel master.
func newClient(rawURL string) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	// A dial task holds a connection only for single commands, but a worker runs many at once.
	const minPool = 64
	if u.Query().Has("master_name") {
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, err
		}
		opt.PoolSize = max(opt.PoolSize, minPool)
		return redis.NewFailoverClient(opt), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opt.PoolSize = max(opt.PoolSize, minPool)
	return redis.NewClient(opt), nil
}

// secretParams are the query parameters of a Redis URL that hold passwords.
var secretParams = []string{"password", "sentinel_password"}

// Redact returns rawURL with every password (of its user, and of its password and
// sentinel_password parameters) replaced by "xxxxx", for messages. Userinfo without a colon
// (redis://SECRET@host, as redis-cli takes a password) is all redacted: it may be the
// password.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); !ok {
			u.User = url.User("xxxxx")
		}
	}
	q := u.Query()
	for _, k := range secretParams {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// redactErr keeps any password of rawURL that an error may quote out of it.
func redactErr(err error, rawURL string) string {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		// The parser's error quotes the whole URL, passwords and all.
		return "the URL cannot be parsed"
	}
	msg := err.Error()
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw)
	} else if u.User != nil {
		secrets = append(secrets, u.User.Username())
	}
	for _, k := range secretParams {
		secrets = append(secrets, u.Query().Get(k))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}
