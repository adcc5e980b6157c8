// Package journal keeps the input journal of stepq serve in memory mode
// (--journal FILE): every write the server accepts is appended to a file
// as one line of JSON and synced to disk before the request is answered,
// and the file is replayed when the server starts, so that a restarted
// in-memory server loses nothing and a journal can be replayed into
// another instance.
//
// The package owns the file format and its durability: one Entry per
// line, each line written with a single write and synced before Append
// returns, and a last line torn by a crash cut off on open or replay.
// It knows nothing of programs, tables or value types: rows are kept as
// the JSON the server decoded and validated, and re-validated by the
// server when it replays them.
package journal
