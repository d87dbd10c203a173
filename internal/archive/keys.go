package archive

// Every Redis key this package owns is built here.
//
//	dialer:archives   HASH  campaign ID -> the Dest (String form) its archive was written to
//
// The index outlives the campaign: it is how `dialer report` finds an archive once retention
// or `dialer delete` removed the campaign from Redis. A field is some 60 bytes.
func indexKey() string { return "dialer:archives" }
