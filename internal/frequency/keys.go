package frequency

// The frequency counters' keys. Each is per number, not per campaign: every campaign that
// dials a number counts in the same key. The number is the key's Redis Cluster hash tag, so
// one number's key lives in one slot and its script touches one key.
//
//	dialer:freq:{+14155550101}        ZSET  holder ("campaign:contact:attempt") -> dial time (Unix ms, Redis time)
const keyPrefix = "dialer:freq:"

func numberKey(number string) string { return keyPrefix + "{" + number + "}" }
