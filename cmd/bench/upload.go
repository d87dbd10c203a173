package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// areaCodes are real US area codes. libphonenumber holds every number of their 555
// exchange valid, 555-0000 to 555-9999, so each gives 10,000 distinct numbers.
var areaCodes = []int{
	201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228,
	229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 272, 276, 281, 301,
	302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323, 325,
	330, 331, 334, 336, 337, 339, 346, 347, 351, 352, 360, 361, 385, 386, 401, 402, 404, 405, 406, 407,
	408, 409, 410, 412, 413, 414, 415, 417, 419, 423, 424, 425, 430, 432, 434, 435, 440, 442, 443, 458,
	469, 470, 475, 478, 479, 480, 484, 501, 502, 503, 504, 505, 507, 508, 509, 510, 512, 513, 515, 516,
}

// maxContacts is how many distinct numbers contactNumber can make.
var maxContacts = len(areaCodes) * 10000

// contactHeader is the header of a generated contact file: the columns of
// campaigns/example.csv.
var contactHeader = []string{"First Name", "Last Name", "phone", "appointment_date", "appointment_time", "clinic", "doctor", "notes"}

var (
	firstNames = []string{"Maria", "James", "Aiko", "Samuel", "Priya", "Liam", "Fatima", "Noah", "Chen", "Olivia", "Mateo", "Amara", "Ethan", "Sofia", "Kwame", "Hannah", "Yusuf"}
	lastNames  = []string{"Gonzalez", "O'Connor", "Tanaka", "Okafor", "Patel", "Smith", "Haddad", "Johnson", "Wei", "Brown", "Rossi", "Nwosu", "Miller", "Garcia", "Mensah", "Kim", "Novak", "Silva", "Cohen"}
	clinics    = []string{"Mission Bay", "Noe Valley", "Sunset", "Richmond", "Bayview"}
	doctors    = []string{"Dr. Patel", "Dr. Nguyen", "Dr. Alvarez", "Dr. Chen", "Dr. Okoye", "Dr. Schmidt", "Dr. Rahman"}
)

// contactNumber returns the phone number of generated row i (0-based) as a person might
// have typed it, in one of five styles. Rows 0 to maxContacts-1 get distinct numbers:
// row i is area code areaCodes[i mod len] and line i div len of the 555 exchange.
func contactNumber(i int) string {
	area := areaCodes[i%len(areaCodes)]
	line := i / len(areaCodes)
	switch line % 5 {
	case 0:
		return fmt.Sprintf("(%d) 555-%04d", area, line)
	case 1:
		return fmt.Sprintf("+1%d555%04d", area, line)
	case 2:
		return fmt.Sprintf("%d.555.%04d", area, line)
	case 3:
		return fmt.Sprintf("%d 555 %04d", area, line)
	default:
		return fmt.Sprintf("+1 %d-555-%04d", area, line)
	}
}

// writeContacts writes a contact CSV of rows data rows under contactHeader, shaped like
// campaigns/example.csv: row i is contactRecord(i). Every number is a distinct valid US
// number (see contactNumber). It returns an error if rows is above maxContacts.
func writeContacts(w io.Writer, rows int) error { return writeContactsFrom(w, 0, rows) }

// writeContactsFrom writes generated rows first to first+rows-1 (see writeContacts), so
// that campaigns dialed side by side have numbers of their own.
func writeContactsFrom(w io.Writer, first, rows int) error {
	if first+rows > maxContacts {
		return fmt.Errorf("%d rows from row %d: the generator has %d distinct numbers", rows, first, maxContacts)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(contactHeader); err != nil {
		return err
	}
	rec := make([]string, len(contactHeader))
	for i := range rows {
		if err := cw.Write(contactRecord(first+i, rec)); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// contactRecord fills rec (len(contactHeader) cells) with generated row i (0-based) and
// returns it: names, a phone number (see contactNumber), an appointment, a clinic, a doctor
// and now and then a note with a comma or quotes in it.
func contactRecord(i int, rec []string) []string {
	day := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	slot := i % 36 // 15-minute slots from 8:00 AM to 4:45 PM
	hour, minute := 8+slot/4, slot%4*15
	ampm := "AM"
	if hour >= 12 {
		ampm = "PM"
	}
	if hour > 12 {
		hour -= 12
	}
	note := ""
	switch {
	case i%7 == 3:
		note = "Prefers mornings, call after 9am"
	case i%11 == 5:
		note = `Spanish speaker; ask for "Rosa"`
	}
	rec[0] = firstNames[i%len(firstNames)]
	rec[1] = lastNames[i%len(lastNames)]
	rec[2] = contactNumber(i)
	rec[3] = day.AddDate(0, 0, i/36%60).Format(time.DateOnly)
	rec[4] = strconv.Itoa(hour) + ":" + fmt.Sprintf("%02d", minute) + " " + ampm
	rec[5] = clinics[i%len(clinics)]
	rec[6] = doctors[i%len(doctors)]
	rec[7] = note
	return rec
}

// writeContactFileFrom writes a contact file of generated rows first to first+rows-1 (see
// writeContacts) to path.
func writeContactFileFrom(path string, first, rows int) error {
	return lab.WriteFile(path, func(w io.Writer) error { return writeContactsFrom(w, first, rows) })
}

// campaignFile is spec as the campaign file of the generated contacts (writeContacts):
// their names are in the First Name column.
func campaignFile(spec lab.Campaign) lab.Campaign {
	spec.NameColumn = contactHeader[0]
	return spec
}

// dialerRun is one run of the built dialer: what it cost and what it printed.
type dialerRun struct {
	wall           time.Duration // from start to exit
	rss            int64         // peak RSS in bytes; 0 when unknown
	rssOK          bool          // whether rss is known
	cpu            time.Duration // user + system CPU time
	stdout, stderr string        // trimmed
}

// runDialer runs the built dialer with args against Redis database db and measures it.
func (b *bench) runDialer(ctx context.Context, db int, args ...string) (*dialerRun, error) {
	cmd := exec.CommandContext(ctx, b.Dialer, args...)
	cmd.Env = append(os.Environ(), "REDIS_URL="+b.redis.url(db))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := lab.Run(cmd)
	r := &dialerRun{wall: time.Since(start), stdout: strings.TrimSpace(stdout.String()), stderr: strings.TrimSpace(stderr.String())}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("dialer %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	r.rss, r.rssOK = peakRSS(cmd.ProcessState)
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

// uploaded is one run of `dialer upload`.
type uploaded struct {
	*dialerRun
	id string // the campaign ID it printed
}

// runUpload writes spec's campaign file and a contact file of rows generated contacts into
// the temporary directory, runs the built `dialer upload` on them against database db, and
// returns the campaign ID it printed and what it cost. The contact file is removed
// afterwards.
func (b *bench) runUpload(ctx context.Context, spec lab.Campaign, rows, db int) (*uploaded, error) {
	return b.runUploadFrom(ctx, spec, 0, rows, db)
}

// runUploadFrom is runUpload of generated rows first to first+rows-1.
func (b *bench) runUploadFrom(ctx context.Context, spec lab.Campaign, first, rows, db int) (*uploaded, error) {
	name := spec.Name
	yamlPath := filepath.Join(b.Dir, name+".yaml")
	csvPath := filepath.Join(b.Dir, name+".csv")
	if err := campaignFile(spec).Write(yamlPath); err != nil {
		return nil, err
	}
	if err := writeContactFileFrom(csvPath, first, rows); err != nil {
		return nil, err
	}
	defer os.Remove(csvPath)

	r, err := b.runDialer(ctx, db, "upload", "--campaign", yamlPath, "--contacts", csvPath)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(r.stdout)
	if len(lines) == 0 {
		return nil, fmt.Errorf("dialer upload %s printed no campaign ID; stderr:\n%s", name, r.stderr)
	}
	return &uploaded{dialerRun: r, id: lines[len(lines)-1]}, nil
}

// checkUploaded checks that campaign id in rdb is uploaded with rows dialable contacts and,
// when parked is set, that its hopper holds an attempt for each.
func checkUploaded(ctx context.Context, rdb redis.UniversalClient, id string, rows int, parked bool) error {
	st, err := campaign.NewStore(rdb).Status(ctx, id)
	if err != nil {
		return fmt.Errorf("status of uploaded campaign %s: %w", id, err)
	}
	if st.State == campaign.StateUploading || st.Total != rows || st.Dialable != rows {
		return fmt.Errorf("uploaded campaign %s: state %s, %d rows, %d dialable, %d invalid, %d duplicate; want it uploaded with all %d dialable",
			id, st.State, st.Total, st.Dialable, st.Invalid, st.Duplicate, rows)
	}
	if parked && st.Queued != rows {
		return fmt.Errorf("uploaded campaign %s: %d attempts parked in its hopper, want %d", id, st.Queued, rows)
	}
	return nil
}

// checkQueued checks that the dial queue of rdb holds n tasks.
func checkQueued(rdb redis.UniversalClient, n int) error {
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(queue.Name)
	if err != nil {
		return fmt.Errorf("inspect queue %s: %w", queue.Name, err)
	}
	if info.Size != n {
		return fmt.Errorf("queue %s holds %d tasks (%d pending), want %d", queue.Name, info.Size, info.Pending, n)
	}
	return nil
}

// benchUpload measures `dialer upload` of --rows generated contacts: wall time, rows/s,
// peak RSS and the Redis memory each contact takes.
func (b *bench) benchUpload(ctx context.Context) ([]lab.Figure, error) {
	rows := b.cfg.rows
	rdb, err := b.redis.open(ctx, dbUpload)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return nil, err
	}
	b.Progress("upload: %s rows with dialer upload", lab.Thousands(rows))
	spec := lab.Campaign{Name: "bench-upload", CPS: 1, MaxLive: 10, Poll: pollInterval, AnalysisWait: 2 * time.Second}
	u, spent, err := redisSpent(ctx, rdb, func() (*uploaded, error) { return b.runUpload(ctx, spec, rows, dbUpload) })
	if err != nil {
		return nil, err
	}
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return nil, err
	}
	if err := checkUploaded(ctx, rdb, u.id, rows, true); err != nil {
		return nil, err
	}
	// A million contacts take a gigabyte; give it back before the next measure.
	if err := flushAsync(ctx, rdb); err != nil {
		return nil, err
	}
	b.Progress("upload: %s", u.stderr)

	rate := float64(rows) / u.wall.Seconds()
	perContact := float64(after-before) / float64(rows)
	rss := lab.Figure{
		Measure: "upload: peak RSS of dialer upload", Value: "n/a (Linux only)", Target: "< 100 MB",
		Note: "ru_maxrss of the upload process over its whole life, both passes over the file; MB of 10^6 bytes",
	}
	if u.rssOK {
		rss.Value = fmt.Sprintf("%.1f MB", float64(u.rss)/1e6)
		rss.Met = verdict(u.rss < 100e6)
	}
	return []lab.Figure{{
		Measure: fmt.Sprintf("upload: %s rows, wall time", lab.Thousands(rows)),
		Value:   fmt.Sprintf("%.2f s", u.wall.Seconds()),
		Target:  fmt.Sprintf("< %s s", trimFloat(float64(rows)/uploadTarget)),
		Met:     verdict(rate >= uploadTarget),
		Note:    "start to exit of the built `dialer upload` (check pass + load pass), 8-column CSV, every number valid and distinct",
	}, {
		Measure: "upload: rate",
		Value:   lab.Thousands(int(rate)) + " rows/s",
		Target:  "≥ " + lab.Thousands(uploadTarget) + " rows/s",
		Met:     verdict(rate >= uploadTarget),
		Note: fmt.Sprintf("rows ÷ wall time above; meanwhile the upload process used %.1f s of CPU and redis-server %.1f s, of %.1f s available on %d cores",
			u.cpu.Seconds(), spent.cpu, u.wall.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU()),
	}, rss, {
		Measure: "upload: Redis memory per contact",
		Value:   fmt.Sprintf("%s B", lab.Thousands(int(perContact))),
		Target:  "≤ 700 B",
		Met:     verdict(perContact <= 700),
		Note:    fmt.Sprintf("INFO used_memory after − before ÷ rows (%.1f MB in all): contact hash, phone index, the attempt parked in the campaign's hopper (no asynq task)", float64(after-before)/1e6),
	}}, nil
}

// uploadTarget is the upload rate to meet, in rows per second: 1M rows in 20 s, now that an
// upload parks each contact in its campaign's hopper instead of enqueueing an asynq task.
const uploadTarget = 50000

// enqueueGoroutines are the numbers of goroutines raw Enqueue is measured with.
var enqueueGoroutines = []int{1, 16}

// benchEnqueue measures queue.Client.EnqueueDial alone, for --rows tasks, into a fresh
// database from 1 and from 16 goroutines: the ceiling of the upload's enqueue stage.
func (b *bench) benchEnqueue(ctx context.Context) ([]lab.Figure, error) {
	var figs []lab.Figure
	for _, g := range enqueueGoroutines {
		b.Progress("enqueue: %s tasks from %d goroutine(s)", lab.Thousands(b.cfg.rows), g)
		rdb, err := b.redis.open(ctx, dbEnqueue)
		if err != nil {
			return nil, err
		}
		elapsed, err := enqueueAll(ctx, queue.NewClient(rdb), b.cfg.rows, g)
		if err == nil {
			err = checkQueued(rdb, b.cfg.rows)
		}
		rdb.Close()
		if err != nil {
			return nil, err
		}
		figs = append(figs, lab.Figure{
			Measure: fmt.Sprintf("asynq Enqueue alone, %d goroutine%s", g, plural(g)),
			Value:   lab.Thousands(int(float64(b.cfg.rows)/elapsed.Seconds())) + " tasks/s",
			Note:    fmt.Sprintf("%s queue.Client.EnqueueDial calls (TaskID, MaxRetry, Timeout) into an empty database; upload itself uses 32", lab.Thousands(b.cfg.rows)),
		})
	}
	return figs, nil
}

// enqueueAll enqueues attempt 1 of contacts 1..n of campaign "bench" through q from
// goroutines goroutines and returns how long it took.
func enqueueAll(ctx context.Context, q *queue.Client, n, goroutines int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if err := q.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: "bench", ContactID: i, Attempt: 1}, time.Time{}); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return elapsed, nil
}
