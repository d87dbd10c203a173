package campaign

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// The texts of an attempt's result that may be long: the assistant's analysis (success
// evaluation, summary, structured data) and the recording path. They are kept once per
// attempt, in the campaign's hash dialer:{C}:texts under the attempt's "N:A", and neither in
// the attempt's hash nor in the contact's: the contact's field "texts" names the attempt
// whose texts its row shows. Redis keeps a hash whose values are all at most 64 bytes (its
// default hash-max-listpack-value) as one compact listpack, and any longer value turns the
// whole hash into a table that costs some 60-80 bytes a field; a summary is a few hundred
// bytes to several KB. Out of the hashes, the contact and attempt hashes of a finished call
// stay listpacks on a stock Redis (docs/operations.md, "Memory per contact").
//
// Campaigns recorded before the texts moved hold them in the attempt and contact hashes
// (fields success_evaluation, summary, structured_data, recording) and have no "texts" field
// on the contact: those are read as they are (see Store.Attempt, Store.Contact).

// compressTextAbove is the length in bytes above which a text is kept deflated (when that is
// shorter): a summary of a few KB deflates to about a third.
const compressTextAbove = 1024

// texts are a result's long texts.
type texts struct{ evaluation, summary, structured, recording string }

func textsOf(r Result) texts {
	return texts{r.SuccessEvaluation, r.Summary, r.StructuredData, r.Recording}
}

// apply sets r's texts to t.
func (t texts) apply(r *Result) {
	r.SuccessEvaluation, r.Summary, r.StructuredData, r.Recording = t.evaluation, t.summary, t.structured, t.recording
}

// encodeTexts returns r's texts as dialer:{C}:texts keeps them, "" when r has none:
//
//	"a" len(E) ":" E len(S) ":" S len(D) ":" D R
//
// where E, S, D and R are the success evaluation, summary, structured data and recording,
// each "" when empty, else "=" and the text, or "z" and the text deflated (compress/flate)
// when it is longer than compressTextAbove and deflates shorter; lengths are decimal, in
// bytes. The record scripts merge two such values part by part without decoding a part
// (see textsLua).
func encodeTexts(r Result) string {
	t := textsOf(r)
	if t == (texts{}) {
		return ""
	}
	e, s, d := encodeText(t.evaluation), encodeText(t.summary), encodeText(t.structured)
	var b strings.Builder
	b.Grow(16 + len(e) + len(s) + len(d) + len(t.recording))
	b.WriteByte('a')
	for _, p := range []string{e, s, d} {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	b.WriteString(encodeText(t.recording))
	return b.String()
}

// EncodeTexts returns r's long texts (its analysis and recording path) as the store keeps
// them in the campaign's hash dialer:{C}:texts, under the attempt's "N:A", "" when r has
// none. It is for tools that write finished attempts in bulk without the record scripts,
// such as cmd/bench; the store's own writes go through Store.RecordResult.
func EncodeTexts(r Result) string { return encodeTexts(r) }

// encodeText returns one part of encodeTexts: "" for "", else "=" and s, or "z" and s
// deflated when s is longer than compressTextAbove and deflates shorter.
func encodeText(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > compressTextAbove {
		w := deflaters.Get().(*deflater)
		defer deflaters.Put(w)
		w.buf.Reset()
		w.buf.WriteByte('z')
		w.w.Reset(&w.buf)
		_, _ = io.WriteString(w.w, s) // a bytes.Buffer does not fail
		_ = w.w.Close()
		if w.buf.Len() < len(s)+1 {
			return w.buf.String()
		}
	}
	return "=" + s
}

// deflater is a flate writer with its buffer: a new flate writer allocates some 600 KB, so
// they are reused.
type deflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

var deflaters = sync.Pool{New: func() any {
	d := &deflater{}
	d.w, _ = flate.NewWriter(&d.buf, flate.DefaultCompression) // the level is valid
	return d
}}

// errBadTexts is wrapped by decodeTexts for a value it cannot read.
var errBadTexts = errors.New("not texts as the store writes them")

// decodeTexts reads a value of encodeTexts; "" is no texts.
func decodeTexts(v string) (texts, error) {
	var t texts
	if v == "" {
		return t, nil
	}
	if v[0] != 'a' {
		return t, fmt.Errorf("%w: starts with %q", errBadTexts, v[:1])
	}
	rest := v[1:]
	var parts [3]string
	for i := range parts {
		colon := strings.IndexByte(rest, ':')
		n, err := strconv.Atoi(rest[:max(colon, 0)])
		if colon < 0 || err != nil || n < 0 || n > len(rest)-colon-1 {
			return t, fmt.Errorf("%w: part %d has no valid length", errBadTexts, i+1)
		}
		parts[i], rest = rest[colon+1:colon+1+n], rest[colon+1+n:]
	}
	var err error
	for i, dst := range []*string{&t.evaluation, &t.summary, &t.structured, &t.recording} {
		p := rest
		if i < len(parts) {
			p = parts[i]
		}
		if *dst, err = decodeText(p); err != nil {
			return texts{}, fmt.Errorf("part %d: %w", i+1, err)
		}
	}
	return t, nil
}

// decodeText reads one part of encodeTexts.
func decodeText(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	switch p[0] {
	case '=':
		return p[1:], nil
	case 'z':
		r := inflaters.Get().(*inflater)
		defer inflaters.Put(r)
		r.src.Reset(p[1:])
		if err := r.r.(flate.Resetter).Reset(&r.src, nil); err != nil {
			return "", err
		}
		r.buf.Reset()
		if _, err := r.buf.ReadFrom(r.r); err != nil {
			return "", fmt.Errorf("%w: inflate: %v", errBadTexts, err)
		}
		return r.buf.String(), nil
	}
	return "", fmt.Errorf("%w: a part starts with %q", errBadTexts, p[:1])
}

// inflater is a flate reader with its source and buffer, reused like deflater.
type inflater struct {
	src strings.Reader
	r   io.ReadCloser
	buf bytes.Buffer
}

var inflaters = sync.Pool{New: func() any {
	i := &inflater{}
	i.r = flate.NewReader(&i.src)
	return i
}}

// textsLua defines, for the record scripts, parts(v), which splits a value of encodeTexts
// into its four encoded parts {E, S, D, R} ("" gives four empty parts), pack(p), which
// joins them back, stored(attemptKey, textsKey, field), the parts an attempt holds: its
// value in textsKey, else the texts a campaign recorded before they moved keeps in the
// attempt's hash, as plain parts; and show(contactKey, textsKey, member, a), which makes
// the contact show the texts of attempt a (member is "N:A"), dropping the copy of an
// earlier attempt's texts it may have kept ("N:A:c").
const textsLua = `
local function show(contactKey, textsKey, member, a)
  local shown = redis.call("HGET", contactKey, "texts")
  if shown and string.sub(shown, -2) == ":c" then
    redis.call("HDEL", textsKey, string.match(member, "^[^:]*") .. ":" .. shown)
  end
  redis.call("HSET", contactKey, "texts", a)
end
local function parts(v)
  local p = {"", "", "", ""}
  if not v or v == "" then
    return p
  end
  local i = 2
  for k = 1, 3 do
    local colon = string.find(v, ":", i, true)
    local n = tonumber(string.sub(v, i, colon - 1))
    p[k] = string.sub(v, colon + 1, colon + n)
    i = colon + 1 + n
  end
  p[4] = string.sub(v, i)
  return p
end
local function pack(p)
  return "a" .. #p[1] .. ":" .. p[1] .. #p[2] .. ":" .. p[2] .. #p[3] .. ":" .. p[3] .. p[4]
end
local function stored(attemptKey, textsKey, field)
  local v = redis.call("HGET", textsKey, field)
  if v then
    return parts(v)
  end
  local a = redis.call("HMGET", attemptKey, "success_evaluation", "summary", "structured_data", "recording")
  local p = {}
  for i = 1, 4 do
    if a[i] and a[i] ~= "" then
      p[i] = "=" .. a[i]
    else
      p[i] = ""
    end
  end
  return p
end
`
