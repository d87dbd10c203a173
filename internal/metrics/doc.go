// Package metrics gives `dialer serve` its Prometheus /metrics for the whole fleet.
//
// The events worth counting happen in many processes: dials, rate-limit waits, Interactly API
// errors and poll fallbacks in every worker, webhook events in every serve replica. Each
// process counts them in memory with a Recorder, whose Run adds the counts to hashes in Redis
// once a second in one round trip. A Collector, registered by Handler in each serve replica,
// reads those hashes at scrape time, together with each recent campaign's progress from
// campaign.Store and the asynq queue sizes, so a scrape of any replica shows fleet-wide
// figures and replicas need not be scraped and summed separately.
//
// Wiring, in outline:
//
//	rec := metrics.NewRecorder(rdb) // in worker and serve
//	go rec.Run(ctx)                 // flushes every second and once more when ctx ends
//	rec.Dial(campaignID)            // a nil *Recorder does nothing
//
//	mux.Handle("GET /metrics", metrics.Handler(metrics.NewCollector(rdb, store, inspector)))
package metrics
