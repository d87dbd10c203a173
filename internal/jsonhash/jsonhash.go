// Package jsonhash reads records kept as JSON in the fields of one Redis hash, a field per
// record named by its key: the way the account store (name -> Account) and the schedule
// store (ID -> Schedule) keep theirs. It decodes them and words their errors in one place.
package jsonhash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Get reads field of hash key and decodes it into a new T. A field that is not there
// returns redis.Nil, unwrapped, for the caller to say what is missing. Other errors name
// the record as what and field ("read account crm: ...", "account crm: decode: ...").
func Get[T any](ctx context.Context, rdb redis.Cmdable, key, field, what string) (*T, error) {
	b, err := rdb.HGet(ctx, key, field).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, field, err)
	}
	return decode[T](b, field, what)
}

// All reads every field of hash key and decodes each into a T, by field. Its errors name
// the records as what ("list accounts: ...", "account crm: decode: ...").
func All[T any](ctx context.Context, rdb redis.Cmdable, key, what string) (map[string]*T, error) {
	m, err := rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", what, err)
	}
	out := make(map[string]*T, len(m))
	for field, raw := range m {
		if out[field], err = decode[T]([]byte(raw), field, what); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decode[T any](b []byte, field, what string) (*T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s %s: decode: %w", what, field, err)
	}
	return &v, nil
}
