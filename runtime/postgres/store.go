package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Store keeps operator state in tables of a program's own Postgres
// schema: one table per integral (_index_N: key, row key, row, weight)
// and one per aggregate (_groups_N: key, encoded group state). Every read
// of a step is one query per operator for all the keys of its batch, and
// every write one statement per operator, all inside the step's
// transaction, which the caller gives with Begin.
//
// An integral the Runner made source-backed (see sourced.go) has no
// table: its lookups read the source table and the change log.
type Store struct {
	schema   string
	tx       pgx.Tx
	deferred *pgx.Batch // when set, writes are queued here instead of sent
	sources  map[int]*sourceIndex
	// bounds limits, during a backfill, the rows of each source (by
	// input name) its source-backed integrals see: see boundNone.
	bounds map[string]string
	// scratch holds, during a backfill that builds part of a changed
	// program's state, the nodes whose state is in place already: theirs
	// is computed in temporary tables of the same names (see backfillIn).
	scratch map[int]bool
}

// NewStore returns a store over the state tables of schema. Its tables
// are created by CreateStateTables.
func NewStore(schema string) *Store { return &Store{schema: schema} }

// Begin makes the store read and write through tx until the next Begin.
func (s *Store) Begin(tx pgx.Tx) { s.tx, s.deferred = tx, nil }

// DeferWrites makes the store queue its writes in b, for the caller to
// send with the rest of the step's statements in one round trip, until
// the next Begin. Reads still go to the transaction at once: a step
// writes its state only after all its reads.
func (s *Store) DeferWrites(b *pgx.Batch) { s.deferred = b }

// send sends a batch of writes, or queues them when writes are deferred.
func (s *Store) send(ctx context.Context, b *pgx.Batch) error {
	if s.deferred != nil {
		for _, q := range b.QueuedQueries {
			s.deferred.Queue(q.SQL, q.Arguments...)
		}
		return nil
	}
	return s.tx.SendBatch(ctx, b).Close()
}

func (s *Store) table(prefix string, id int) string {
	if s.scratch[id] {
		return pgx.Identifier{"pg_temp", fmt.Sprintf("%s_%d", prefix, id)}.Sanitize()
	}
	return pgx.Identifier{s.schema, fmt.Sprintf("%s_%d", prefix, id)}.Sanitize()
}

// Index returns the integral of Integrate node id.
func (s *Store) Index(id int) runtime.Index {
	if six, ok := s.sources[id]; ok {
		return &boundedSourceIndex{s: s, six: six, bound: s.bounds[six.input.Name]}
	}
	return &pgIndex{s: s, table: s.table("_index", id)}
}

// Groups returns the state of Aggregate node id.
func (s *Store) Groups(id int) runtime.Groups {
	return &pgGroups{s: s, table: s.table("_groups", id)}
}

// Ordered returns the ordered integral of OrderedIntegrate node id.
func (s *Store) Ordered(id int) runtime.OrderedIndex {
	return &pgOrdered{pgIndex{s: s, table: s.table("_ordered", id)}}
}

// StateTableDDL returns the statements creating the state tables of the
// given Integrate, Aggregate and OrderedIntegrate node IDs. An ordered
// integral's primary key, (key, row_key), is the B-tree its range scans
// read: bytea compares byte by byte, as types.OrderKey needs.
func (s *Store) StateTableDDL(indexIDs, groupIDs, orderedIDs []int) []string {
	var out []string
	for _, id := range orderedIDs {
		out = append(out, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  key bytea NOT NULL, row_key bytea NOT NULL, row bytea NOT NULL, weight bigint NOT NULL,
  PRIMARY KEY (key, row_key))`, s.table("_ordered", id)))
	}
	for _, id := range indexIDs {
		out = append(out, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  key bytea NOT NULL, row_key bytea NOT NULL, row bytea NOT NULL, weight bigint NOT NULL,
  PRIMARY KEY (key, row_key))`, s.table("_index", id)))
	}
	for _, id := range groupIDs {
		out = append(out, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (key bytea PRIMARY KEY, state bytea NOT NULL)`, s.table("_groups", id)))
	}
	return out
}

type pgIndex struct {
	s     *Store
	table string
}

func (ix *pgIndex) Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	at := make(map[string]int, len(keys))
	args := make([][]byte, len(keys))
	for i, k := range keys {
		at[k] = i
		args[i] = []byte(k)
	}
	rows, err := ix.s.tx.Query(ctx, "SELECT key, row, weight FROM "+ix.table+" WHERE key = ANY($1)", args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([][]zset.Entry, len(keys))
	for rows.Next() {
		var key, enc []byte
		var w int64
		if err := rows.Scan(&key, &enc, &w); err != nil {
			return nil, err
		}
		row, err := types.DecodeRow(enc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ix.table, err)
		}
		i := at[string(key)]
		out[i] = append(out[i], zset.Entry{Row: row, Weight: w})
	}
	return out, rows.Err()
}

func (ix *pgIndex) Update(ctx context.Context, changes []runtime.KeyedChange) error {
	// Consolidate first: one row per (key, row key) in the statement.
	type kr struct{ key, rowKey string }
	sum := make(map[kr]int, len(changes))
	var keys, rowKeys, encs [][]byte
	var weights []int64
	for _, c := range changes {
		id := kr{c.Key, c.RowKey}
		if i, ok := sum[id]; ok {
			weights[i] += c.Weight
			continue
		}
		sum[id] = len(weights)
		keys = append(keys, []byte(c.Key))
		rowKeys = append(rowKeys, []byte(c.RowKey))
		encs = append(encs, types.EncodeRow(c.Row))
		weights = append(weights, c.Weight)
	}
	batch := &pgx.Batch{}
	if !slices.ContainsFunc(weights, func(w int64) bool { return w < 0 }) {
		// Only insertions: no entry can fall to weight zero.
		batch.Queue(`INSERT INTO `+ix.table+` AS t (key, row_key, row, weight)
SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[])
ON CONFLICT (key, row_key) DO UPDATE SET weight = t.weight + excluded.weight`, keys, rowKeys, encs, weights)
		return ix.s.send(ctx, batch)
	}
	// One statement: the entries the changes bring to zero are deleted
	// (probing the primary key for each), the rest upserted.
	batch.Queue(`WITH u (key, row_key, row, weight) AS (SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[])),
gone AS (DELETE FROM `+ix.table+` t USING u WHERE t.key = u.key AND t.row_key = u.row_key AND t.weight + u.weight = 0 RETURNING t.key, t.row_key)
INSERT INTO `+ix.table+` AS t (key, row_key, row, weight)
SELECT u.* FROM u WHERE NOT EXISTS (SELECT 1 FROM gone g WHERE g.key = u.key AND g.row_key = u.row_key)
ON CONFLICT (key, row_key) DO UPDATE SET weight = t.weight + excluded.weight`, keys, rowKeys, encs, weights)
	return ix.s.send(ctx, batch)
}

// pgOrdered is an ordered integral: the table of an index, whose key is
// an order key.
type pgOrdered struct{ ix pgIndex }

func (o *pgOrdered) Range(ctx context.Context, lo, hi []byte) ([]zset.Entry, error) {
	rows, err := o.ix.s.tx.Query(ctx, "SELECT row, weight FROM "+o.ix.table+" WHERE key BETWEEN $1 AND $2 ORDER BY key, row_key", lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zset.Entry
	for rows.Next() {
		var enc []byte
		var w int64
		if err := rows.Scan(&enc, &w); err != nil {
			return nil, err
		}
		row, err := types.DecodeRow(enc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.ix.table, err)
		}
		out = append(out, zset.Entry{Row: row, Weight: w})
	}
	return out, rows.Err()
}

func (o *pgOrdered) Update(ctx context.Context, changes []runtime.OrderedChange) error {
	keyed := make([]runtime.KeyedChange, len(changes))
	for i, c := range changes {
		keyed[i] = runtime.KeyedChange{Key: string(c.Key), RowKey: c.RowKey, Row: c.Row, Weight: c.Weight}
	}
	return o.ix.Update(ctx, keyed)
}

type pgGroups struct {
	s     *Store
	table string
}

func (g *pgGroups) Get(ctx context.Context, keys []string) ([]*runtime.GroupState, error) {
	at := make(map[string]int, len(keys))
	args := make([][]byte, len(keys))
	for i, k := range keys {
		at[k] = i
		args[i] = []byte(k)
	}
	rows, err := g.s.tx.Query(ctx, "SELECT key, state FROM "+g.table+" WHERE key = ANY($1)", args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]*runtime.GroupState, len(keys))
	for rows.Next() {
		var key, enc []byte
		if err := rows.Scan(&key, &enc); err != nil {
			return nil, err
		}
		st, err := decodeGroupState(enc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.table, err)
		}
		out[at[string(key)]] = st
	}
	return out, rows.Err()
}

func (g *pgGroups) Put(ctx context.Context, keys []string, states []*runtime.GroupState) error {
	var putKeys, encs, delKeys [][]byte
	for i, k := range keys {
		if states[i] == nil || states[i].Count == 0 {
			delKeys = append(delKeys, []byte(k))
			continue
		}
		putKeys = append(putKeys, []byte(k))
		encs = append(encs, encodeGroupState(states[i]))
	}
	batch := &pgx.Batch{}
	if len(putKeys) > 0 {
		batch.Queue(`INSERT INTO `+g.table+` (key, state) SELECT * FROM unnest($1::bytea[], $2::bytea[])
ON CONFLICT (key) DO UPDATE SET state = excluded.state`, putKeys, encs)
	}
	if len(delKeys) > 0 {
		batch.Queue(`DELETE FROM `+g.table+` WHERE key = ANY($1)`, delKeys)
	}
	return g.s.send(ctx, batch)
}

// encodeGroupState writes a group's state as one encoded row: the key,
// the count, then per accumulator its non-null count, its sum, its
// multiset as a list of (value, count) pairs in order, its numeric
// scales, whether the multiset holds ordered-aggregate items and the
// directions of their order keys; and for a top-k group, its ranking.
func encodeGroupState(st *runtime.GroupState) []byte {
	accs := make([]any, len(st.Accs))
	for i, a := range st.Accs {
		var values []any
		if a.Values != nil {
			values = []any{}
			a.Values.Ascend(func(vc runtime.ValueCount) bool {
				values = append(values, []any{vc.Value, vc.Count})
				return true
			})
		}
		var vs any
		if values != nil {
			vs = values
		}
		scales := make([]any, len(a.Scales))
		for j, n := range a.Scales {
			scales[j] = n
		}
		order := a.Order
		if order == nil {
			order = &runtime.MultisetOrder{}
		}
		desc := make([]any, len(order.Desc))
		for j, d := range order.Desc {
			desc[j] = d
		}
		accs[i] = []any{a.NonNull, a.Sum, vs, scales, order.Ordered, desc, order.Spelled}
	}
	fields := []any{[]any(st.Key), st.Count, accs}
	if st.Ranked != nil || st.Forms != nil {
		var ranked any
		if st.Ranked != nil {
			ranked = encodeRanking(st.Ranked)
		}
		fields = append(fields, ranked)
	}
	if st.Forms != nil {
		forms := make([]any, len(*st.Forms))
		for i, f := range *st.Forms {
			forms[i] = []any{[]any(f.Key), f.Count}
		}
		fields = append(fields, forms)
	}
	return types.EncodeRow(fields)
}

// encodeRanking writes a top-k group's ranking as the directions of its
// order keys and its rows in order, each as (order key values, row,
// count).
func encodeRanking(r *runtime.Ranking) []any {
	desc := make([]any, len(r.Desc))
	for i, d := range r.Desc {
		desc[i] = d
	}
	rows := make([]any, 0, r.Rows.Len())
	r.Rows.Ascend(func(it runtime.RankedRow) bool {
		rows = append(rows, []any{it.Sort, []any(it.Row), it.Count})
		return true
	})
	return []any{desc, rows}
}

func decodeRanking(v []any) *runtime.Ranking {
	var desc []bool
	for _, d := range v[0].([]any) {
		desc = append(desc, d.(bool))
	}
	r := runtime.NewRanking(desc)
	for _, it := range v[1].([]any) {
		f := it.([]any)
		row := zset.Row(f[1].([]any))
		r.Rows.ReplaceOrInsert(runtime.RankedRow{Sort: f[0].([]any), Row: row, Count: f[2].(int64)})
	}
	return r
}

func decodeGroupState(b []byte) (st *runtime.GroupState, err error) {
	defer func() {
		if recover() != nil {
			st, err = nil, fmt.Errorf("corrupt group state")
		}
	}()
	row, err := types.DecodeRow(b)
	if err != nil {
		return nil, err
	}
	st = &runtime.GroupState{Key: row[0].([]any), Count: row[1].(int64)}
	for _, a := range row[2].([]any) {
		f := a.([]any)
		acc := runtime.Accumulator{NonNull: f[0].(int64), Sum: f[1]}
		for _, n := range f[3].([]any) {
			acc.Scales = append(acc.Scales, n.(int64))
		}
		var order runtime.MultisetOrder
		if len(f) > 4 { // states written before ordered aggregates have 4 fields
			order.Ordered = f[4].(bool)
			for _, d := range f[5].([]any) {
				order.Desc = append(order.Desc, d.(bool))
			}
		}
		if len(f) > 6 {
			order.Spelled = f[6].(bool)
		}
		if order.Ordered || order.Spelled || order.Desc != nil {
			acc.Order = &order
		}
		if f[2] != nil {
			switch {
			case order.Ordered:
				acc.Values = runtime.NewItemMultiset(order.Desc)
			case order.Spelled:
				acc.Values = runtime.NewSpelledMultiset()
			default:
				acc.Values = runtime.NewMultiset()
			}
			for _, p := range f[2].([]any) {
				pair := p.([]any)
				acc.Values.ReplaceOrInsert(runtime.ValueCount{Value: pair[0], Count: pair[1].(int64)})
			}
		}
		st.Accs = append(st.Accs, acc)
	}
	if len(row) > 4 {
		var forms []runtime.KeyForm
		for _, f := range row[4].([]any) {
			pair := f.([]any)
			forms = append(forms, runtime.KeyForm{Key: pair[0].([]any), Count: pair[1].(int64)})
		}
		if forms != nil {
			st.Forms = &forms
		}
	}
	if len(row) > 3 && row[3] != nil {
		st.Ranked = decodeRanking(row[3].([]any))
	}
	return st, nil
}
