package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/redis/go-redis/v9"
)

// Names of an archive's objects, under the campaign ID.
const (
	CampaignObject = "campaign.json.gz"
	ReportObject   = "report.csv.gz"
	AttemptsObject = "attempts.csv.gz"
	RejectedObject = "rejected.csv.gz"
	ManifestObject = "manifest.json"
)

// Manifest describes one campaign's archive. It is written last: an archive without one is
// incomplete.
type Manifest struct {
	// CampaignID and Name are the campaign's.
	CampaignID string `json:"campaignId"`
	Name       string `json:"name"`
	// ArchivedAt is when the archive was written, UTC.
	ArchivedAt time.Time `json:"archivedAt"`
	// Outcomes maps each final outcome to its number of rows, as `dialer status` shows it.
	Outcomes map[campaign.Outcome]int `json:"outcomes"`
	// Files lists the archive's other objects.
	Files []File `json:"files"`
}

// File is one gzip-compressed object of an archive.
type File struct {
	// Name is the object's name under the campaign ID, e.g. "report.csv.gz".
	Name string `json:"name"`
	// Rows counts its data rows (CSV rows after the header; 1 for the campaign record).
	Rows int `json:"rows"`
	// Bytes is the object's size, compressed.
	Bytes int64 `json:"bytes"`
	// SHA256 is the hex SHA-256 of the object as stored (compressed): `sha256sum` of the file.
	SHA256 string `json:"sha256"`
}

// record is what campaign.json.gz holds.
type record struct {
	Campaign *campaign.Campaign `json:"campaign"`
	Status   *campaign.Status   `json:"status"`
}

// Write archives campaign id from store to dest: its record, report, attempt report and
// rejected rows (those its upload refused), each gzip-compressed, then the manifest, and records dest in the index in rdb. Each
// object is first written to a temporary file (so its size and sum are known before it is
// sent), so memory does not grow with the campaign. now stamps the manifest.
func Write(ctx context.Context, rdb redis.UniversalClient, store *campaign.Store, id string, dest Dest, now time.Time) (*Manifest, error) {
	c, err := store.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := store.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	m := &Manifest{CampaignID: id, Name: c.File.Name, ArchivedAt: now.UTC(), Outcomes: st.Outcomes}
	objects := []struct {
		name  string
		write func(w io.Writer) (int, error)
	}{
		{CampaignObject, func(w io.Writer) (int, error) {
			return 1, json.NewEncoder(w).Encode(record{Campaign: c, Status: st})
		}},
		{ReportObject, func(w io.Writer) (int, error) {
			return store.WriteReport(ctx, id, w, campaign.ReportOptions{Raw: true})
		}},
		{AttemptsObject, func(w io.Writer) (int, error) {
			return store.WriteAttemptReport(ctx, id, w, campaign.ReportOptions{Raw: true})
		}},
		{RejectedObject, func(w io.Writer) (int, error) {
			return store.WriteRejected(ctx, id, w, campaign.ReportOptions{Raw: true})
		}},
	}
	for _, o := range objects {
		f, err := putCompressed(ctx, dest, id+"/"+o.name, o.write)
		if err != nil {
			return nil, fmt.Errorf("archive campaign %s: %w", id, err)
		}
		f.Name = o.name
		m.Files = append(m.Files, f)
	}
	body, _ := json.MarshalIndent(m, "", "  ")
	body = append(body, '\n')
	if err := dest.Put(ctx, id+"/"+ManifestObject, bytes.NewReader(body), int64(len(body))); err != nil {
		return nil, fmt.Errorf("archive campaign %s: %w", id, err)
	}
	if err := rdb.HSet(ctx, indexKey(), id, dest.String()).Err(); err != nil {
		return nil, fmt.Errorf("record the archive of campaign %s: %w", id, err)
	}
	return m, nil
}

// putCompressed writes write's output gzip-compressed to a temporary file, then puts that
// file as name, and returns its rows, size and sum.
func putCompressed(ctx context.Context, dest Dest, name string, write func(w io.Writer) (int, error)) (File, error) {
	tmp, err := os.CreateTemp("", "dialer-archive-*.gz")
	if err != nil {
		return File{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	sum := sha256.New()
	zw := gzip.NewWriter(io.MultiWriter(tmp, sum))
	rows, err := write(zw)
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return File{}, fmt.Errorf("write %s: %w", name, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		return File{}, err
	}
	if err := dest.Put(ctx, name, tmp, size); err != nil {
		return File{}, err
	}
	return File{Rows: rows, Bytes: size, SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}

// Lookup returns the destination campaign id was archived to, as Open takes it, and
// whether there is one.
func Lookup(ctx context.Context, rdb redis.UniversalClient, id string) (string, bool, error) {
	spec, err := rdb.HGet(ctx, indexKey(), id).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up the archive of campaign %s: %w", id, err)
	}
	return spec, true, nil
}

// ReadManifest reads campaign id's manifest from dest. Its error wraps ErrNotFound when dest
// holds no (complete) archive of it.
func ReadManifest(ctx context.Context, dest Dest, id string) (*Manifest, error) {
	rc, err := dest.Get(ctx, id+"/"+ManifestObject)
	if err != nil {
		return nil, fmt.Errorf("archive of campaign %s: %w", id, err)
	}
	defer rc.Close()
	var m Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		return nil, fmt.Errorf("archive of campaign %s: read %s: %w", id, ManifestObject, err)
	}
	return &m, nil
}

// WriteReport writes the report (object ReportObject, AttemptsObject or RejectedObject) of campaign id
// from its archive in dest to w, as `dialer report` writes it from Redis: cells a
// spreadsheet would run as formulas are neutralised unless opt.Raw. It checks the object's
// SHA-256 against the manifest and fails if they differ, and returns the rows written.
func WriteReport(ctx context.Context, dest Dest, id, object string, w io.Writer, opt campaign.ReportOptions) (int, error) {
	m, err := ReadManifest(ctx, dest, id)
	if err != nil {
		return 0, err
	}
	var want *File
	for i := range m.Files {
		if m.Files[i].Name == object {
			want = &m.Files[i]
		}
	}
	if want == nil {
		return 0, fmt.Errorf("archive of campaign %s in %s has no %s (it was written before the dialer archived that report)", id, dest, object)
	}
	rc, err := dest.Get(ctx, id+"/"+object)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	sum := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(rc, sum))
	if err != nil {
		return 0, fmt.Errorf("archive of campaign %s: %s: %w", id, object, err)
	}
	rows, err := copyCSV(w, zr, opt)
	if err != nil {
		return rows, fmt.Errorf("archive of campaign %s: %s: %w", id, object, err)
	}
	if err := checkSum(rc, sum, want.SHA256); err != nil {
		return rows, fmt.Errorf("archive of campaign %s: %s: %w", id, object, err)
	}
	return rows, nil
}

// checkSum reads what is left of r into sum and compares it with want.
func checkSum(r io.Reader, sum hash.Hash, want string) error {
	if _, err := io.Copy(sum, r); err != nil {
		return err
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != want {
		return fmt.Errorf("SHA-256 %s does not match the manifest's %s: the archive is damaged", got, want)
	}
	return nil
}

// utf8BOM is what a report written with ReportOptions.BOM starts with.
const utf8BOM = "\xEF\xBB\xBF"

// copyCSV copies the CSV in r to w, neutralising every cell unless opt.Raw (as
// campaign.Store.WriteReport does, header included) and starting with a byte-order mark
// when opt.BOM, and returns the data rows (after the header) copied. The archive holds the
// report as encoding/csv writes it, so a raw copy has the same rows and cells (a CRLF
// inside a quoted cell comes back as LF).
func copyCSV(w io.Writer, r io.Reader, opt campaign.ReportOptions) (int, error) {
	if opt.BOM {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return 0, err
		}
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cw := csv.NewWriter(w)
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return max(rows-1, 0), err
		}
		if !opt.Raw {
			for i, cell := range rec {
				rec[i] = campaign.SafeCell(cell)
			}
		}
		if err := cw.Write(rec); err != nil {
			return max(rows-1, 0), err
		}
		rows++
	}
	cw.Flush()
	return max(rows-1, 0), cw.Error()
}
