// Package runtime executes a circuit of package ir one step at a time.
//
// A step takes one batch of changes per input table and the time of the
// step (which the program's now() reads), turns the changes into
// Z-sets (resolving updates and deletes by primary key, as SQL does),
// computes every node's output changes in topological order while reading
// operator state as of the previous step, and then commits the state
// writes, the tables' new contents and the views' integrated contents
// together. A step that fails anywhere (a bad row, a duplicate key, a
// division by zero) commits nothing: the engine is left as it was.
//
// A fixpoint node (a recursive view) runs its body as many times as its
// fixpoint needs within the step, semi-naively and by DRed under
// deletions; the iterations read one another's state writes through an
// overlay of the store, which reaches the store only when the step
// commits.
//
// Operator state lives in a Store. MemoryStore, the embedded default,
// keeps it in hash maps and B-trees; package runtime/postgres keeps it in
// Postgres tables and runs programs against a live database.
package runtime
