// Package archive keeps finished campaigns outside Redis: `dialer archive` and the retention
// sweep write a campaign's record, its report and its attempt report, gzip-compressed, with a
// manifest of row counts and SHA-256 sums, to a directory or an S3-compatible bucket (a
// Dest). `dialer report` reads an archived campaign's report back from there once the
// campaign is gone from Redis; the index in Redis (keys.go) says where each archive went.
//
// An archive of campaign C is four objects under the prefix C/:
//
//	C/campaign.json.gz   the campaign: its file as parsed, header, counts, outcomes
//	C/report.csv.gz      the report, one row per input row, cells as stored (raw)
//	C/attempts.csv.gz    the attempt report, one row per dial attempt, raw
//	C/manifest.json      Manifest: per object its rows, bytes and SHA-256; written last, so
//	                     an archive without it is incomplete
package archive
