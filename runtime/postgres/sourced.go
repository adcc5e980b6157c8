package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
	"github.com/valyala/fastjson"
)

// No second copy of what Postgres already holds (issue 10). The integral
// of a source table, indexed by some of its columns, is the table itself
// minus the changes not yet applied: the rows of the change log. Such an
// integral keeps no state table; its lookups read the source through an
// index, and subtract the pending log rows with the same keys, in one
// statement:
//
//	SELECT to_json(t.*)::text, 1 FROM ONLY src t WHERE t.c = ANY($1)
//	UNION ALL
//	SELECT row::text, -weight FROM _log WHERE source = 'src' AND (row->>'c')::type = ANY($1)
//
// One statement sees the table and the log in one snapshot, and a writer
// commits its change and its log row together, so the difference is the
// source as of the changes applied so far, whatever commits meanwhile.
// Within a step of several chunks each chunk's log rows are deleted with
// its writes, so the next chunk's lookups count them as applied.
//
// Install decides which integrals qualify and records them in _meta
// (source_backed): an Integrate straight over a source table, keyed by
// plain columns of types whose = is KeyOf's equality (integers, numeric,
// text of a deterministic collation, bool, uuid, floats) and whose text
// cast is immutable (for the log's expression index). The lookup uses a
// B-tree index of the source led by the key columns, or one install
// creates and records as the program's own (source_indexes); a role that
// may not create it (not the table's owner) keeps a state table for that
// integral. A program installed without the key keeps a state table for
// every integral, as before.

// metaSourceBacked and metaSourceIndexes are the _meta keys of the
// source-backed integrals and of the indexes install created for them.
const (
	metaSourceBacked  = "source_backed"
	metaSourceIndexes = "source_indexes"
)

// sourceIndex is how a source-backed integral reads its source.
type sourceIndex struct {
	node   int
	input  *ir.Input
	key    []ir.Scalar
	cols   []int // the key's columns, in the input's columns
	decode func(parser *fastjson.Parser, raw []byte) (zset.Row, error)
	// source and logTable are the quoted names of the source and the
	// change log; table and log the two parts of the lookup of keys
	// without NULLs (see sql).
	source, logTable string
	table, log       string
}

// keyTypes are the types whose SQL = agrees with types.KeyOf and whose
// cast from text is immutable.
func keyType(t types.Type) (string, bool) {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Numeric, types.Text, types.Bool, types.UUID, types.Float4, types.Float8:
		return t.Kind.String(), true
	}
	return "", false
}

// sourceCandidates returns the Integrate nodes that read a Postgres
// source directly by plain columns of key types, with their inputs.
func (p *Runner) sourceCandidates() map[*ir.Node]*ir.Input {
	inputs := map[string]*ir.Input{}
	for _, in := range p.Circuit.Inputs {
		inputs[in.Name] = in
	}
	out := map[*ir.Node]*ir.Input{}
	for _, n := range p.Circuit.Nodes {
		op, ok := n.Op.(*ir.Integrate)
		if !ok || len(n.Inputs) != 1 || len(op.Key) == 0 {
			continue
		}
		src, ok := n.Inputs[0].Op.(*ir.Source)
		if !ok {
			continue
		}
		in := inputs[src.Table]
		if in == nil || in.Postgres == nil || in.Node != n.Inputs[0] {
			continue
		}
		if slices.ContainsFunc(op.Key, func(s ir.Scalar) bool {
			i, ok := s.Column()
			_, typed := keyType(s.Type)
			return !ok || !typed || i >= len(in.Columns)
		}) {
			continue
		}
		out[n] = in
	}
	return out
}

// installSourceBacked decides, in the install transaction, which
// integrals read their source, finds or creates the source indexes their
// lookups use and the log's expression indexes, and records both. It
// returns the IDs of the source-backed nodes.
func (p *Runner) installSourceBacked(ctx context.Context, tx pgx.Tx) ([]int, error) {
	var backed []int
	created := map[string]uint32{}
	cands := p.sourceCandidates()
	// The integrals with the longest keys first: an index made for
	// (name, qty) serves a lookup by name too.
	nodes := slices.Clone(p.Circuit.Nodes)
	slices.SortStableFunc(nodes, func(a, b *ir.Node) int {
		return keyLen(b) - keyLen(a)
	})
	for _, n := range nodes {
		in, ok := cands[n]
		if !ok {
			continue
		}
		cols := keyColumns(n, in)
		ok, err := p.sourceKeyFits(ctx, tx, in, n, cols)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		has, err := p.hasSourceIndex(ctx, tx, in, cols)
		if err != nil {
			return nil, err
		}
		if !has && p.NoSourceIndexes {
			p.logf("program %s: no index of source table %s serves integral n%d, and NoSourceIndexes forbids making one: it keeps a state table", p.Schema, p.sourceName(in), n.ID)
			continue
		}
		if !has {
			name, oid, err := p.createSourceIndex(ctx, tx, in, n, cols)
			if err != nil {
				return nil, err
			}
			if name == "" {
				p.logf("program %s: may not create an index on source table %s (not its owner): integral n%d keeps a state table", p.Schema, p.sourceName(in), n.ID)
				continue
			}
			created[name] = oid
		}
		var exprs []string
		for _, c := range cols {
			exprs = append(exprs, "(("+logValue(in, c)+"))")
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE INDEX %s ON %s (%s) WHERE source = %s",
			ident(fmt.Sprintf("_log_n%d", n.ID)), p.t("_log"), strings.Join(exprs, ", "), quoteLiteral(in.Name))); err != nil {
			return nil, fmt.Errorf("indexing the change log for integral n%d: %w", n.ID, err)
		}
		backed = append(backed, n.ID)
	}
	ids, _ := json.Marshal(backed)
	if backed == nil {
		ids = []byte("[]")
	}
	owned, _ := json.Marshal(created)
	if err := p.setMeta(ctx, tx, metaSourceBacked, string(ids)); err != nil {
		return nil, err
	}
	return backed, p.setMeta(ctx, tx, metaSourceIndexes, string(owned))
}

// keyLen is the number of key columns of an Integrate node, 0 for
// another.
func keyLen(n *ir.Node) int {
	if op, ok := n.Op.(*ir.Integrate); ok {
		return len(op.Key)
	}
	return 0
}

// keyColumns returns the input columns an integral over a source is
// keyed by.
func keyColumns(n *ir.Node, in *ir.Input) []int {
	var cols []int
	for _, s := range n.Op.(*ir.Integrate).Key {
		i, _ := s.Column()
		cols = append(cols, i)
	}
	return cols
}

// logValue is the SQL reading column c of a source's row from the log,
// the expression of the log's index for the integral. It is computed for
// every row captured from the source, in the writer's transaction, which
// it must never fail: a value that does not read as the column's type
// (the column was retyped since install, say) is NULL, never an error.
// Values outside the simple forms checked (an integer of 19 digits, a
// float with an exponent of three digits, NaN, Infinity) are NULL too:
// lookups read the log rows whose value is NULL as well, and keep only
// those of the keys asked for.
func logValue(in *ir.Input, c int) string {
	v := "(row->>" + quoteLiteral(in.Columns[c].Name) + ")"
	switch in.Columns[c].Type.Kind {
	case types.Int2, types.Int4, types.Int8:
		return "CASE WHEN " + v + " ~ '^-?[0-9]{1,18}$' THEN " + v + "::int8 END"
	case types.Numeric:
		return "CASE WHEN " + v + " ~ '^-?[0-9]{1,255}(\\.[0-9]{1,255})?$' THEN " + v + "::numeric END"
	case types.Float4:
		return "CASE WHEN " + v + " ~ '^-?[0-9]{1,20}(\\.[0-9]{1,20})?(e[-+]?[0-9])?$' THEN " + v + "::float4 END"
	case types.Float8:
		return "CASE WHEN " + v + " ~ '^-?[0-9]{1,20}(\\.[0-9]{1,30})?(e[-+]?[0-9]{1,2})?$' THEN " + v + "::float8 END"
	case types.Bool:
		return "CASE WHEN " + v + " IN ('true', 'false') THEN " + v + "::bool END"
	case types.UUID:
		return "CASE WHEN " + v + " ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN " + v + "::uuid END"
	}
	return v // text
}

// sourceKeyFits checks the source table's key columns in the catalog:
// each of the type the program reads it as (not a domain, not varchar:
// the same type, so that = and the casts are the type's own), and text
// of a deterministic collation, whose = compares bytes as KeyOf does.
func (p *Runner) sourceKeyFits(ctx context.Context, tx pgx.Tx, in *ir.Input, n *ir.Node, cols []int) (bool, error) {
	for _, c := range cols {
		var typ string
		var deterministic bool
		err := tx.QueryRow(ctx, `SELECT t.typname::text, coalesce(co.collisdeterministic, true)
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation co ON co.oid = a.attcollation
 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`, p.sourceName(in), in.Columns[c].Name).Scan(&typ, &deterministic)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		want, _ := keyType(in.Columns[c].Type)
		if typ != want || !deterministic {
			p.logf("program %s: column %s of %s is %s, read as %s: integral n%d keeps a state table", p.Schema, in.Columns[c].Name, p.sourceName(in), typ, want, n.ID)
			return false, nil
		}
	}
	return true, nil
}

// hasSourceIndex reports whether the source has a valid, whole-table
// B-tree index that serves lookups by the key columns: one whose leading
// columns are the key's (in any order), or a unique one whose columns
// are all key columns (at most one row a key); each column with its
// default operator class and own collation, so that = uses it.
func (p *Runner) hasSourceIndex(ctx context.Context, tx pgx.Tx, in *ir.Input, cols []int) (bool, error) {
	var names []string
	for _, c := range cols {
		names = append(names, in.Columns[c].Name)
	}
	var has bool
	err := tx.QueryRow(ctx, `WITH ix AS (
  SELECT i.indisunique AS uniq, i.indnkeyatts AS n,
         (SELECT array_agg(CASE WHEN oc.opcdefault AND i.indcollation[k] = a.attcollation THEN a.attname::text END ORDER BY k)
            FROM generate_series(0, i.indnkeyatts - 1) k
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k]
            LEFT JOIN pg_opclass oc ON oc.oid = i.indclass[k]) AS cols
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
   WHERE i.indrelid = to_regclass($1) AND am.amname = 'btree' AND i.indisvalid AND i.indpred IS NULL)
SELECT EXISTS (SELECT 1 FROM ix WHERE n >= cardinality($2::text[]) AND cols[1:cardinality($2::text[])] @> $2::text[]
                  OR uniq AND $2::text[] @> cols)`,
		p.sourceName(in), names).Scan(&has)
	return has, err
}

// createSourceIndex creates the index a source-backed integral's lookups
// use, inside a savepoint: when the role may not (it is not the table's
// owner) it returns no name, and the integral keeps a state table.
// Creating it holds a SHARE lock on the table while it is built, as the
// capture triggers' creation does already.
func (p *Runner) createSourceIndex(ctx context.Context, tx pgx.Tx, in *ir.Input, n *ir.Node, cols []int) (string, uint32, error) {
	var names []string
	for _, c := range cols {
		names = append(names, ident(in.Columns[c].Name))
	}
	name := fmt.Sprintf("stepping_%s_n%d", shortHash(p.Schema), n.ID)
	if _, err := tx.Exec(ctx, "SAVEPOINT stepping_index"); err != nil {
		return "", 0, err
	}
	_, err := tx.Exec(ctx, fmt.Sprintf("CREATE INDEX %s ON %s (%s)", ident(name), p.sourceName(in), strings.Join(names, ", ")))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		_, err = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT stepping_index")
		return "", 0, err
	}
	if err != nil {
		return "", 0, fmt.Errorf("creating an index on source table %s for integral n%d: %w", p.sourceName(in), n.ID, err)
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT stepping_index"); err != nil {
		return "", 0, err
	}
	var qualified string
	var oid uint32
	if err := tx.QueryRow(ctx, `SELECT format('%I.%I', n.nspname, c.relname), c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = (SELECT i.indexrelid FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = to_regclass($1) AND ic.relname = $2)`,
		p.sourceName(in), name).Scan(&qualified, &oid); err != nil {
		return "", 0, fmt.Errorf("recording index %s: %w", name, err)
	}
	return qualified, oid, nil
}

// dropSourceIndexes drops the source indexes recorded as the program's
// own that are still the indexes it created; never an index of the
// user's.
func (p *Runner) dropSourceIndexes(ctx context.Context, tx pgx.Tx) error {
	raw, err := p.meta(ctx, tx, metaSourceIndexes)
	if err != nil || raw == "" {
		return err
	}
	owned := map[string]uint32{}
	if err := json.Unmarshal([]byte(raw), &owned); err != nil {
		return fmt.Errorf("program %s: the record of its source indexes is unreadable: %w", p.Schema, err)
	}
	for name, oid := range owned {
		var now *uint32
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::oid", name).Scan(&now); err != nil {
			return err
		}
		switch {
		case now == nil:
		case *now != oid:
			p.logf("not dropping index %s: it is not the index program %s created", name, p.Schema)
		default:
			if _, err := tx.Exec(ctx, "DROP INDEX "+name); err != nil {
				return fmt.Errorf("dropping index %s: %w", name, err)
			}
		}
	}
	return nil
}

// sourceIndexes returns the program's source-backed integrals as
// recorded in _meta at install, read once.
func (p *Runner) sourceIndexes(ctx context.Context, q querier) (map[int]*sourceIndex, error) {
	if p.sourced != nil {
		return p.sourced, nil
	}
	raw, err := p.meta(ctx, q, metaSourceBacked)
	if err != nil {
		return nil, err
	}
	out := map[int]*sourceIndex{}
	var ids []int
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &ids); err != nil {
			return nil, fmt.Errorf("program %s: the record of its source-backed integrals is unreadable: %w", p.Schema, err)
		}
	}
	cands := map[int]*ir.Input{}
	nodes := map[int]*ir.Node{}
	for n, in := range p.sourceCandidates() {
		cands[n.ID], nodes[n.ID] = in, n
	}
	for _, id := range ids {
		in, ok := cands[id]
		if !ok {
			return nil, fmt.Errorf("program %s: integral n%d is recorded as reading its source, which it cannot", p.Schema, id)
		}
		out[id] = p.newSourceIndex(nodes[id], in)
	}
	p.sourced = out
	return out, nil
}

// newSourceIndex returns the lookup of a source-backed integral.
func (p *Runner) newSourceIndex(n *ir.Node, in *ir.Input) *sourceIndex {
	six := &sourceIndex{node: n.ID, input: in, key: n.Op.(*ir.Integrate).Key, cols: keyColumns(n, in),
		source: p.sourceName(in), logTable: p.t("_log")}
	six.decode = func(parser *fastjson.Parser, raw []byte) (zset.Row, error) { return p.decodeRow(parser, in, 0, raw) }
	six.table, six.log = six.sql(1, false)
	return six
}

// sql returns the two parts of a lookup, the source's rows and the
// pending log rows, whose key columns' values are the text arrays $first
// onwards: compared with =, or with nulls by IS NOT DISTINCT FROM (NULL
// never equals; no index serves these, and joins never look such keys
// up).
func (six *sourceIndex) sql(first int, nulls bool) (table, log string) {
	var tcols, lcols, args, tnull, lnull, kcols []string
	for i, c := range six.cols {
		t, _ := keyType(six.input.Columns[c].Type)
		tcols = append(tcols, "t."+ident(six.input.Columns[c].Name))
		lcols = append(lcols, logValue(six.input, c))
		args = append(args, fmt.Sprintf("$%d::text[]::%s[]", first+i, t))
		kcols = append(kcols, fmt.Sprintf("c%d", i))
		tnull = append(tnull, fmt.Sprintf("%s IS NOT DISTINCT FROM k.c%d", tcols[i], i))
		lnull = append(lnull, fmt.Sprintf("%s IS NOT DISTINCT FROM k.c%d", lcols[i], i))
	}
	var tcond, lcond string
	switch {
	case nulls:
		keys := "EXISTS (SELECT 1 FROM unnest(" + strings.Join(args, ", ") + ") k(" + strings.Join(kcols, ", ") + ") WHERE "
		tcond = keys + strings.Join(tnull, " AND ") + ")"
		lcond = keys + strings.Join(lnull, " AND ") + ")"
	case len(six.cols) == 1:
		tcond = tcols[0] + " = ANY(" + args[0] + ")"
		lcond = "(" + lcols[0] + " = ANY(" + args[0] + ")"
	default:
		keys := " IN (SELECT * FROM unnest(" + strings.Join(args, ", ") + "))"
		tcond = "(" + strings.Join(tcols, ", ") + ")" + keys
		lcond = "((" + strings.Join(lcols, ", ") + ")" + keys
	}
	if !nulls {
		// The log rows whose values logValue did not read (see there).
		for _, l := range lcols {
			lcond += " OR " + l + " IS NULL"
		}
		lcond += ")"
	}
	table = "SELECT to_json(t.*)::text, 1::int8 FROM ONLY " + six.source + " t WHERE " + tcond
	log = "SELECT row::text, -weight::int8 FROM " + six.logTable + " WHERE source = " + quoteLiteral(six.input.Name) + " AND " + lcond
	return table, log
}

// sourceBound limits the source rows a source-backed lookup sees, during
// a backfill: boundNone for a source not read yet, a ctid for the one
// being read (rows up to it), and no entry for one read whole.
const boundNone = "none"

// boundedSourceIndex is a source-backed integral as a runtime.Index, in
// one step's transaction.
type boundedSourceIndex struct {
	s     *Store
	six   *sourceIndex
	bound string // see boundNone; "" for the whole table
}

// Update does nothing: the source table is the integral, and the change
// log's rows, deleted as they are applied, are what it has not taken in.
func (ix *boundedSourceIndex) Update(context.Context, []runtime.KeyedChange) error { return nil }

// Lookup reads the rows of the keys from the source and subtracts their
// pending changes, in one statement.
func (ix *boundedSourceIndex) Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	six := ix.six
	at := make(map[string]int, len(keys))
	full := make([][]string, len(six.cols))   // keys without NULLs, per column
	nulls := make([][]*string, len(six.cols)) // keys with a NULL
	for i, k := range keys {
		if _, dup := at[k]; dup {
			continue
		}
		at[k] = i
		vals, err := types.DecodeKey(k)
		if err != nil || len(vals) != len(six.cols) {
			return nil, fmt.Errorf("integral n%d: looking up a key of %d values: %v", six.node, len(vals), err)
		}
		if slices.Contains(vals, nil) {
			for c, v := range vals {
				var s *string
				if v != nil {
					t := keyText(v, six.input.Columns[six.cols[c]].Type)
					s = &t
				}
				nulls[c] = append(nulls[c], s)
			}
			continue
		}
		for c, v := range vals {
			full[c] = append(full[c], keyText(v, six.input.Columns[six.cols[c]].Type))
		}
	}
	args := make([]any, 0, len(six.cols))
	bound := ""
	switch {
	case ix.bound == boundNone:
		bound = " AND false"
	case ix.bound != "":
		bound = " AND t.ctid <= " + quoteLiteral(ix.bound) + "::tid"
	}
	var parts []string
	if len(full[0]) > 0 {
		for _, f := range full {
			args = append(args, f)
		}
		parts = append(parts, six.table+bound, six.log)
	}
	if len(nulls[0]) > 0 {
		table, log := six.sql(len(args)+1, true)
		for _, n := range nulls {
			args = append(args, n)
		}
		parts = append(parts, table+bound, log)
	}
	out := make([][]zset.Entry, len(keys))
	if len(parts) == 0 {
		return out, nil
	}
	// Planned for its keys each time (an unnamed statement): a cached
	// generic plan cannot know how many keys come, nor that the log
	// holds none of them, and after five executions Postgres may switch
	// to one that scans.
	rows, err := ix.s.tx.Query(ctx, strings.Join(parts, "\nUNION ALL\n"), append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("integral n%d over %s: %w", six.node, six.input.Name, err)
	}
	defer rows.Close()
	type entry struct {
		row zset.Row
		w   int64
	}
	found := map[string]map[string]*entry{}
	var raw []byte
	var w int64
	var parser fastjson.Parser
	for rows.Next() {
		if err := rows.Scan(&raw, &w); err != nil {
			return nil, err
		}
		row, err := six.decode(&parser, raw)
		if err != nil {
			return nil, err
		}
		kv, _, err := ir.EvalKey(six.key, row)
		if err != nil {
			return nil, fmt.Errorf("integral n%d: %w", six.node, err)
		}
		key := types.KeyOf(kv)
		if _, ok := at[key]; !ok {
			continue
		}
		byRow := found[key]
		if byRow == nil {
			byRow = map[string]*entry{}
			found[key] = byRow
		}
		rk := types.RowKey(row)
		if e, ok := byRow[rk]; ok {
			e.w += w
			continue
		}
		byRow[rk] = &entry{row, w}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, k := range keys {
		for _, e := range found[k] {
			if e.w != 0 {
				out[i] = append(out[i], zset.Entry{Row: e.row, Weight: e.w})
			}
		}
	}
	return out, nil
}

// keyText is a key value as the text its type's input function reads
// back to the same value (a float4 in its shortest float4 form).
func keyText(v any, t types.Type) string { return types.Format(v, t) }
