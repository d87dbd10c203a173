package auth

// Every Redis key of package auth is built here. They share the hash tag {auth}, so one
// token's keys and the name index live in one Redis Cluster slot and a transaction may touch
// them together.
//
//	dialer:{auth}:names        HASH  token name -> token ID
//	dialer:{auth}:token:ID     HASH  token ID's record: name, scope, hash (hex SHA-256 of
//	                                 the secret), created, expires, last_used (Unix ms)
const keyPrefix = "dialer:{auth}:"

func namesKey() string { return keyPrefix + "names" }

func tokenKey(id string) string { return keyPrefix + "token:" + id }
