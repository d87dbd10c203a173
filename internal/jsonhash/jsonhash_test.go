package jsonhash

import (
	"errors"
	"testing"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// testDB is this package's database; see package redistest.
const testDB = 26

type record struct {
	Name string `json:"name"`
	CPS  int    `json:"cps"`
}

const key = "dialer:records"

func TestGet(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	ctx := t.Context()
	if err := rdb.HSet(ctx, key, "crm", `{"name":"crm","cps":5}`, "bad", `{"name":`).Err(); err != nil {
		t.Fatal(err)
	}

	got, err := Get[record](ctx, rdb, key, "crm", "account")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&record{Name: "crm", CPS: 5}, got); diff != "" {
		t.Errorf("Get crm (-want +got):\n%s", diff)
	}

	// A missing field is redis.Nil itself, for the caller to word.
	if got, err := Get[record](ctx, rdb, key, "gone", "account"); err != redis.Nil || got != nil {
		t.Errorf("Get of a missing field = %v, %v; want nil, redis.Nil unwrapped", got, err)
	}

	_, err = Get[record](ctx, rdb, key, "bad", "account")
	if err == nil || err.Error() != "account bad: decode: unexpected end of JSON input" {
		t.Errorf("Get of a broken record = %v; want it named, with the decode error", err)
	}

	outage := &redistest.Outage{}
	rdb.AddHook(outage)
	outage.Down.Store(true)
	_, err = Get[record](ctx, rdb, key, "crm", "account")
	if !errors.Is(err, redistest.ErrUnreachable) || err.Error() != "read account crm: "+redistest.ErrUnreachable.Error() {
		t.Errorf("Get with Redis down = %v; want the record named, wrapping %v", err, redistest.ErrUnreachable)
	}
}

func TestAll(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	ctx := t.Context()

	got, err := All[record](ctx, rdb, key, "schedule")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("All of no hash = %v, %v; want an empty, non-nil map", got, err)
	}

	if err := rdb.HSet(ctx, key, "a", `{"name":"a","cps":1}`, "b", `{"name":"b","cps":2}`).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = All[record](ctx, rdb, key, "schedule")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*record{"a": {Name: "a", CPS: 1}, "b": {Name: "b", CPS: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}

	if err := rdb.HSet(ctx, key, "c", `[]`).Err(); err != nil {
		t.Fatal(err)
	}
	_, err = All[record](ctx, rdb, key, "schedule")
	if err == nil || err.Error() != "schedule c: decode: json: cannot unmarshal array into Go value of type jsonhash.record" {
		t.Errorf("All with a broken record = %v; want it named, with the decode error", err)
	}

	outage := &redistest.Outage{}
	rdb.AddHook(outage)
	outage.Down.Store(true)
	_, err = All[record](ctx, rdb, key, "schedule")
	if !errors.Is(err, redistest.ErrUnreachable) || err.Error() != "list schedules: "+redistest.ErrUnreachable.Error() {
		t.Errorf("All with Redis down = %v; want %q", err, "list schedules: "+redistest.ErrUnreachable.Error())
	}
}
