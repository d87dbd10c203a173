package metrics

import (
	"testing"
)

// BenchmarkRecorderDial measures the hot path of a dial: one Recorder.Dial, no Redis.
// Run: go test -run '^$' -bench Recorder -benchmem ./internal/metrics
func BenchmarkRecorderDial(b *testing.B) {
	rdb, _ := setup(b)
	r := NewRecorder(rdb)
	id := "06gvueu73pn1572u"
	b.ReportAllocs()
	for b.Loop() {
		r.Dial(id)
	}
}

// BenchmarkRecorderDialParallel is BenchmarkRecorderDial from GOMAXPROCS goroutines on one
// Recorder, as a worker's concurrent tasks share it.
func BenchmarkRecorderDialParallel(b *testing.B) {
	rdb, _ := setup(b)
	r := NewRecorder(rdb)
	id := "06gvueu73pn1572u"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Dial(id)
		}
	})
}
