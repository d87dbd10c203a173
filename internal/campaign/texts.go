package campaign

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
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

// compressTextAbove is the length in bytes above which a text is kept compressed with zstd
// (when that is shorter): a summary of a few KB shrinks to a third or so. zstd (the maintained
// github.com/klauspost/compress) keeps about what compress/flate keeps and reads back 2-3
// times faster (BenchmarkDecodeTexts), which a report of long analyses pays on every row.
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
// each "" when empty, else "=" and the text, or "z" and the text as a zstd frame when it is
// longer than compressTextAbove and that is shorter; lengths are decimal, in bytes. The record scripts merge two such values part by part without decoding a part
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

// encodeText returns one part of encodeTexts: "" for "", else "=" and s, or "z" and s as a
// zstd frame when s is longer than compressTextAbove and that is shorter.
func encodeText(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > compressTextAbove {
		z := zstdCodec().enc.EncodeAll([]byte(s), append(make([]byte, 0, len(s)/2), 'z'))
		if len(z) < len(s)+1 {
			return string(z)
		}
	}
	return "=" + s
}

// zstdCoders are the zstd encoder and decoder the texts share: both are safe for concurrent
// EncodeAll and DecodeAll, and costly to make.
type zstdCoders struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// maxTextBytes bounds what one compressed text may decode to: far above any analysis, so
// that a damaged value cannot make a report allocate without end.
const maxTextBytes = 64 << 20

var zstdCodec = sync.OnceValue(func() zstdCoders {
	// Neither fails with these options.
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxTextBytes))
	return zstdCoders{enc, dec}
})

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
		b, err := zstdCodec().dec.DecodeAll([]byte(p[1:]), nil)
		if err != nil {
			return "", fmt.Errorf("%w: zstd: %v", errBadTexts, err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("%w: a part starts with %q", errBadTexts, p[:1])
}

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
