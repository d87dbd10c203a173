package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
)

const testDB = 20

const testCampaign = `
name: archive-test
assistantId: asst-1
phoneNumberId: num-1
contacts: {numberColumn: phone}
retention: 7d
`

const testContacts = "name,phone,note\nAnn,+14155550101,=SUM(A1)\nBob,+14155550102,\"plain, quoted\"\nCy,not a number,\n"

type nopEnqueuer struct{}

func (nopEnqueuer) EnqueueDial(context.Context, campaign.AttemptRef, time.Time) error { return nil }

// seedCampaign uploads the test campaign and gives its first contact a finished call.
func seedCampaign(t *testing.T) (redis.UniversalClient, *campaign.Store, string) {
	t.Helper()
	rdb, _ := redistest.Setup(t, testDB)
	f, err := campaign.Parse("c.yaml", []byte(testCampaign))
	if err != nil {
		t.Fatal(err)
	}
	f.WithDefaults()
	store := campaign.NewStore(rdb)
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testContacts)), nil }
	c, err := store.Upload(t.Context(), f, "c.csv", open, nopEnqueuer{}, campaign.UploadOptions{Now: testutil.Now})
	if err != nil {
		t.Fatal(err)
	}
	r := campaign.Result{Outcome: campaign.OutcomeCompleted, CallID: "CC-1", Summary: "Confirmed Tuesday."}
	campaigntest.EndAttempt(t, store, campaign.AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}, r)
	return rdb, store, c.ID
}

// checkRoundTrip archives the seeded campaign to dest, checks the manifest against the
// objects as stored, and reads both reports back, equal to what Redis gives.
func checkRoundTrip(t *testing.T, rdb redis.UniversalClient, store *campaign.Store, id string, dest Dest) {
	t.Helper()
	ctx := t.Context()
	m, err := Write(ctx, rdb, store, id, dest, testutil.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantRows := map[string]int{CampaignObject: 1, ReportObject: 3, AttemptsObject: 1, RejectedObject: 1}
	if len(m.Files) != len(wantRows) {
		t.Fatalf("manifest lists %d files, want %d", len(m.Files), len(wantRows))
	}
	for _, f := range m.Files {
		if f.Rows != wantRows[f.Name] {
			t.Errorf("%s: %d rows in the manifest, want %d", f.Name, f.Rows, wantRows[f.Name])
		}
		rc, err := dest.Get(ctx, id+"/"+f.Name)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != f.SHA256 || int64(len(body)) != f.Bytes {
			t.Errorf("%s: stored %d bytes with SHA-256 %s; manifest says %d, %s", f.Name, len(body), got, f.Bytes, f.SHA256)
		}
		if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
			t.Errorf("%s is not gzip: %v", f.Name, err)
		}
	}
	if m.Outcomes[campaign.OutcomeCompleted] != 1 || m.Outcomes[campaign.OutcomeInvalid] != 1 {
		t.Errorf("manifest outcomes = %v", m.Outcomes)
	}

	for _, tt := range []struct {
		object string
		write  func(context.Context, string, io.Writer, campaign.ReportOptions) (int, error)
	}{
		{ReportObject, store.WriteReport},
		{AttemptsObject, store.WriteAttemptReport},
		{RejectedObject, store.WriteRejected},
	} {
		for _, opt := range []campaign.ReportOptions{{}, {Raw: true}, {BOM: true}} {
			var want, got bytes.Buffer
			wantN, err := tt.write(ctx, id, &want, opt)
			if err != nil {
				t.Fatal(err)
			}
			gotN, err := WriteReport(ctx, dest, id, tt.object, &got, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() || gotN != wantN {
				t.Errorf("%s (%+v) from the archive: %d rows\n%q\nwant %d rows as from Redis:\n%q", tt.object, opt, gotN, got.String(), wantN, want.String())
			}
		}
	}
}

func TestDirectory(t *testing.T) {
	rdb, store, id := seedCampaign(t)
	dir := filepath.Join(t.TempDir(), "archive")
	dest, err := Open(dir, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, rdb, store, id, dest)

	spec, ok, err := Lookup(t.Context(), rdb, id)
	if err != nil || !ok || spec != dir {
		t.Errorf("Lookup = %q, %v, %v; want %q", spec, ok, err, dir)
	}

	// A damaged object is refused, not served.
	path := filepath.Join(dir, id, ReportObject)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("name,phone\nMallory,+14155550199\n"))
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteReport(t.Context(), dest, id, ReportObject, io.Discard, campaign.ReportOptions{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("report from a damaged archive: %v, want it refused as damaged", err)
	}

	if _, err := ReadManifest(t.Context(), dest, "nosuchcampaign"); !errors.Is(err, ErrNotFound) {
		t.Errorf("manifest of an unarchived campaign: %v, want ErrNotFound", err)
	}
}

func TestOpenRefusesBadSpecs(t *testing.T) {
	noEnv := func(string) string { return "" }
	for spec, want := range map[string]string{
		"":                    "no archive destination",
		"ftp://host/x":        "want a directory or s3://",
		"s3://bucket/archive": "AWS_ACCESS_KEY_ID",
	} {
		if _, err := Open(spec, noEnv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
}

// TestS3 archives to a bucket of a real S3-compatible server (gofakes3, built from
// testdata/s3server and run as its own process) through minio-go, and reads it back.
func TestS3(t *testing.T) {
	addr := startS3Server(t)
	env := map[string]string{EnvAccessKey: "test-access", EnvSecretKey: "test-secret"}
	getenv := func(k string) string { return env[k] }
	mc, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("test-access", "test-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(t.Context(), "dialer-archive", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	rdb, store, id := seedCampaign(t)
	spec := "s3://dialer-archive/prod/campaigns?endpoint=" + addr + "&insecure=true"
	dest, err := Open(spec, getenv)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, rdb, store, id, dest)
	if _, err := mc.StatObject(t.Context(), "dialer-archive", "prod/campaigns/"+id+"/"+ManifestObject, minio.StatObjectOptions{}); err != nil {
		t.Errorf("manifest not in the bucket under the prefix: %v", err)
	}
	if _, err := ReadManifest(t.Context(), dest, "nosuchcampaign"); !errors.Is(err, ErrNotFound) {
		t.Errorf("manifest of an unarchived campaign: %v, want ErrNotFound", err)
	}
	if spec2, _, _ := Lookup(t.Context(), rdb, id); spec2 != spec {
		t.Errorf("index holds %q, want %q", spec2, spec)
	}
}

// startS3Server builds testdata/s3server, starts it on a free port and returns its address;
// it is killed when the test ends.
func startS3Server(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "s3server")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("testdata", "s3server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the S3 server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				lines <- addr
			}
		}
	}()
	select {
	case addr := <-lines:
		return addr
	case <-time.After(30 * time.Second):
		t.Fatal("the S3 server did not say where it listens within 30 s")
	}
	return ""
}
