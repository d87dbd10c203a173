package schedule

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// db is this package's Redis database number (see package redistest).
const db = 10

const testCampaign = `
name: scheduled
assistantId: 678a253ca6d866573043502e
phoneNumberId: 5f7b1b1b1b1b1b1b1b1b1b1b
contacts: {numberColumn: phone}
`

// setup returns a clean database db for t, and marks t parallel where it is t's own
// (redistest.Parallel).
func setup(t *testing.T) *redis.Client {
	t.Helper()
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, db)
	return rdb
}

func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestStore(t *testing.T) {
	rdb, _ := redistest.Setup(t, db)
	ctx := t.Context()
	st := NewStore(rdb)
	dir := t.TempDir()
	good := writeFile(t, dir, "c.yaml", testCampaign)
	contacts := writeFile(t, dir, "c.csv", "phone\n4155550101\n")

	t.Run("AddListRemove", func(t *testing.T) {
		a, err := st.Add(ctx, Schedule{Cron: "0 9 * * MON-FRI", Timezone: "America/New_York", CampaignPath: good, ContactsPath: contacts})
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.Add(ctx, Schedule{Cron: "@daily", CampaignPath: good, ContactsPath: contacts})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.ID) != 12 || a.ID == b.ID {
			t.Errorf("IDs %q, %q: want two different 12-character IDs", a.ID, b.ID)
		}
		list, err := st.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("List = %+v, want the two schedules", list)
		}
		got, err := st.Get(ctx, a.ID)
		if err != nil || got.Cron != "0 9 * * MON-FRI" || got.Timezone != "America/New_York" || got.CampaignPath != good || got.ContactsPath != contacts {
			t.Errorf("Get = %+v, %v", got, err)
		}
		if err := st.Remove(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		err = st.Remove(ctx, a.ID)
		if !errors.Is(err, ErrScheduleNotFound) || !strings.Contains(err.Error(), a.ID) {
			t.Errorf("Remove of a removed schedule = %v; want ErrScheduleNotFound naming %s", err, a.ID)
		}
		if list, _ := st.List(ctx); len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("List after Remove = %+v", list)
		}
	})

	t.Run("RelativePathsBecomeAbsolute", func(t *testing.T) {
		t.Chdir(dir)
		s, err := st.Add(ctx, Schedule{Cron: "@hourly", CampaignPath: "c.yaml", ContactsPath: "c.csv"})
		if err != nil {
			t.Fatal(err)
		}
		if s.CampaignPath != good || s.ContactsPath != contacts {
			t.Errorf("paths = %s, %s; want %s, %s", s.CampaignPath, s.ContactsPath, good, contacts)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		bad := writeFile(t, dir, "bad.yaml", strings.Replace(testCampaign, "numberColumn", "numberColum", 1))
		for _, tt := range []struct {
			name  string
			s     Schedule
			want  string
			field string
		}{
			{"SixFields", Schedule{Cron: "0 0 9 * * MON", CampaignPath: good, ContactsPath: contacts}, "want 5 fields", "cron"},
			{"Garbage", Schedule{Cron: "every morning", CampaignPath: good, ContactsPath: contacts}, `--cron "every morning"`, "cron"},
			{"ZoneInSpec", Schedule{Cron: "CRON_TZ=UTC 0 9 * * *", CampaignPath: good, ContactsPath: contacts}, "--timezone", "cron"},
			{"BadZone", Schedule{Cron: "@daily", Timezone: "Mars/Olympus", CampaignPath: good, ContactsPath: contacts}, "Mars/Olympus", "timezone"},
			{"NoCampaignFile", Schedule{Cron: "@daily", CampaignPath: filepath.Join(dir, "missing.yaml"), ContactsPath: contacts}, "missing.yaml", "campaign"},
			{"NoContactFile", Schedule{Cron: "@daily", CampaignPath: good, ContactsPath: filepath.Join(dir, "missing.csv")}, "missing.csv", "contacts"},
			{"BadCampaignFile", Schedule{Cron: "@daily", CampaignPath: bad, ContactsPath: contacts}, "contacts.numberColum", "campaign"},
			{"Directory", Schedule{Cron: "@daily", CampaignPath: good, ContactsPath: dir}, "is a directory", "contacts"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before, _ := st.List(ctx)
				_, err := st.Add(ctx, tt.s)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Add = %v, want an error saying %q", err, tt.want)
				}
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.field {
					t.Errorf("Add = %#v, want a *FieldError for %s", err, tt.field)
				}
				if after, _ := st.List(ctx); len(after) != len(before) {
					t.Errorf("a refused Add stored a schedule")
				}
			})
		}
	})
}

func TestNext(t *testing.T) {
	created := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC) // a Friday
	for _, tt := range []struct {
		name string
		s    Schedule
		from time.Time
		want time.Time
	}{
		{"WeekdaysUTC", Schedule{Cron: "0 9 * * MON-FRI"}, created, time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)},
		{"InZone", Schedule{Cron: "0 9 * * *", Timezone: "America/New_York"}, created, time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC)},
		{"AfterClockChange", Schedule{Cron: "0 9 * * *", Timezone: "America/New_York"}, time.Date(2026, 3, 8, 14, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)},
		{"EveryIsAnchored", Schedule{Cron: "@every 10s", CreatedAt: created}, created.Add(25*time.Second + 300*time.Millisecond), created.Add(30 * time.Second)},
		{"EveryBeforeCreation", Schedule{Cron: "@every 10s", CreatedAt: created}, created.Add(-time.Hour), created.Add(10 * time.Second)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Next(tt.from)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("Next(%s) = %s, %v; want %s", tt.from, got, err, tt.want)
			}
		})
	}
}
