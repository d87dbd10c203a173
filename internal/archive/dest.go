package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrNotFound is returned by Dest.Get for an object the destination does not hold.
var ErrNotFound = errors.New("not in the archive")

// Dest is where archives are kept: a directory or an S3-compatible bucket. Object names are
// slash-separated paths such as "C/report.csv.gz".
type Dest interface {
	// Put stores r's bytes as name, replacing any object of that name. size is the
	// number of bytes r holds. A failed Put leaves no partial object under name.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get opens object name; its error wraps ErrNotFound when there is none.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// String is the destination as Open takes it, without credentials.
	String() string
}

// Environment variables Open reads for an s3:// destination.
const (
	// EnvAccessKey and EnvSecretKey are the bucket's credentials (never logged).
	EnvAccessKey = "AWS_ACCESS_KEY_ID"
	EnvSecretKey = "AWS_SECRET_ACCESS_KEY"
)

// Open returns the destination spec names:
//
//	/var/lib/dialer/archive                  a directory (created if missing)
//	s3://BUCKET[/PREFIX][?endpoint=HOST:PORT&region=R&insecure=true]
//	                                         an S3-compatible bucket; endpoint defaults to
//	                                         s3.amazonaws.com, insecure=true speaks plain HTTP
//
// The bucket's credentials come from getenv(EnvAccessKey) and getenv(EnvSecretKey), never
// from spec, so that spec can be printed and stored.
func Open(spec string, getenv func(string) string) (Dest, error) {
	if spec == "" {
		return nil, errors.New("no archive destination; give a directory or s3://BUCKET[/PREFIX]")
	}
	if !strings.HasPrefix(spec, "s3://") {
		if strings.Contains(spec, "://") {
			return nil, fmt.Errorf("archive destination %q: want a directory or s3://BUCKET[/PREFIX]", spec)
		}
		abs, err := filepath.Abs(spec)
		if err != nil {
			return nil, fmt.Errorf("archive directory %s: %w", spec, err)
		}
		return dirDest(abs), nil
	}
	return openS3(spec, getenv)
}

// dirDest keeps objects as files under a directory.
type dirDest string

func (d dirDest) String() string { return string(d) }

func (d dirDest) path(name string) string { return filepath.Join(string(d), filepath.FromSlash(name)) }

// Put writes to a temporary file beside the object and renames it into place.
func (d dirDest) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	path := d.path(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	return nil
}

func (d dirDest) Get(_ context.Context, name string) (io.ReadCloser, error) {
	f, err := os.Open(d.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d.path(name), ErrNotFound)
	}
	return f, err
}

// s3Dest keeps objects in an S3-compatible bucket under a prefix.
type s3Dest struct {
	spec   string
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

// partSize bounds the memory of an upload of unknown size; archives are written from
// files of known size, so it only matters past 16 MiB.
const partSize = 16 << 20

func openS3(spec string, getenv func(string) string) (*s3Dest, error) {
	u, err := url.Parse(spec)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("archive destination %q: want s3://BUCKET[/PREFIX][?endpoint=HOST:PORT&region=R&insecure=true]", spec)
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	access, secret := getenv(EnvAccessKey), getenv(EnvSecretKey)
	if access == "" || secret == "" {
		return nil, fmt.Errorf("archive destination %s: set %s and %s to the bucket's credentials", spec, EnvAccessKey, EnvSecretKey)
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(access, secret, ""),
		Secure: q.Get("insecure") != "true",
		Region: q.Get("region"),
	})
	if err != nil {
		return nil, fmt.Errorf("archive destination %s: %w", spec, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &s3Dest{spec: spec, client: client, bucket: u.Host, prefix: prefix}, nil
}

func (s *s3Dest) String() string { return s.spec }

// Put uploads r as one object: S3 makes an object visible only once its upload is whole.
func (s *s3Dest) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, r, size, minio.PutObjectOptions{PartSize: partSize})
	if err != nil {
		return fmt.Errorf("archive s3://%s/%s%s: %w", s.bucket, s.prefix, name, err)
	}
	return nil
}

func (s *s3Dest) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat() // GetObject is lazy: Stat finds out whether the object exists
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("s3://%s/%s%s: %w", s.bucket, s.prefix, name, ErrNotFound)
		}
		return nil, fmt.Errorf("read s3://%s/%s%s: %w", s.bucket, s.prefix, name, err)
	}
	return obj, nil
}
