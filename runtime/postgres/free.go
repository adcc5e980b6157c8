package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// FreeIndex drops the rows of node id's state table for which final
// holds (see runtime.Freer). It reads the whole table: the runner sweeps
// seldom enough (see sweepDue) that this costs O(1) a change. An
// integral read from its source table has no state table of its own,
// and frees nothing.
func (s *Store) FreeIndex(ctx context.Context, id int, final func(zset.Row) bool) (int, error) {
	if _, ok := s.sources[id]; ok {
		return 0, nil
	}
	return s.freeRows(ctx, s.table("_index", id), nil, final)
}

// FreeOrdered drops the rows of node id's ordered state table whose key
// is below hi (or at it, through) and for which final holds.
func (s *Store) FreeOrdered(ctx context.Context, id int, hi []byte, through bool, final func(zset.Row) bool) (int, error) {
	cmp := "<"
	if through {
		cmp = "<="
	}
	table := s.table("_ordered", id)
	if _, err := s.freeRows(ctx, table, &rangeBelow{cmp, hi}, final); err != nil {
		return 0, err
	}
	var kept int
	err := s.tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&kept)
	return kept, err
}

// rangeBelow limits a sweep to the keys below (or at) hi.
type rangeBelow struct {
	cmp string
	hi  []byte
}

// freeRows deletes the rows of an index-like state table (key, row_key,
// row, weight) for which final holds, and returns how many it keeps.
func (s *Store) freeRows(ctx context.Context, table string, below *rangeBelow, final func(zset.Row) bool) (int, error) {
	q, args := "SELECT key, row_key, row FROM "+table, []any{}
	if below != nil {
		q, args = q+" WHERE key "+below.cmp+" $1", append(args, below.hi)
	}
	var keys, rowKeys [][]byte
	kept, err := scanFinal(ctx, s, table, q, args, func(key, rowKey, enc []byte) (bool, error) {
		row, err := types.DecodeRow(enc)
		if err != nil || !final(row) {
			return false, err
		}
		keys, rowKeys = append(keys, key), append(rowKeys, rowKey)
		return true, nil
	})
	if err == nil && len(keys) > 0 {
		_, err = s.tx.Exec(ctx, "DELETE FROM "+table+" t USING unnest($1::bytea[], $2::bytea[]) AS f(key, row_key) WHERE t.key = f.key AND t.row_key = f.row_key", keys, rowKeys)
	}
	return kept, err
}

// FreeGroups drops the groups of node id for which final holds.
func (s *Store) FreeGroups(ctx context.Context, id int, final func(*runtime.GroupState) bool) (int, error) {
	table := s.table("_groups", id)
	var keys [][]byte
	kept, err := scanFinal(ctx, s, table, "SELECT key, NULL::bytea, state FROM "+table, nil, func(key, _, enc []byte) (bool, error) {
		st, err := decodeGroupState(enc)
		if err != nil || !final(st) {
			return false, err
		}
		keys = append(keys, key)
		return true, nil
	})
	if err == nil && len(keys) > 0 {
		_, err = s.tx.Exec(ctx, "DELETE FROM "+table+" WHERE key = ANY($1)", keys)
	}
	return kept, err
}

// scanFinal reads a state table's entries (key, row key, encoding) and
// calls final on each, which says whether it goes; it returns how many
// stay.
func scanFinal(ctx context.Context, s *Store, table, query string, args []any, final func(key, rowKey, enc []byte) (bool, error)) (int, error) {
	rows, err := s.tx.Query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	kept := 0
	for rows.Next() {
		var key, rowKey, enc []byte
		if err := rows.Scan(&key, &rowKey, &enc); err != nil {
			return 0, err
		}
		gone, err := final(key, rowKey, enc)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", table, err)
		}
		if !gone {
			kept++
		}
	}
	return kept, rows.Err()
}

// minSweep is the fewest log rows applied between two sweeps, unless
// Runner.SweepRows says otherwise.
const minSweep = 1024

// sweepIfDue frees, at the end of a step in tx, the state the
// watermarks make final, when the log rows applied since the last sweep
// reach the state entries it kept (at least SweepRows): each sweep reads
// the state once, so sweeping costs O(1) a change, and the state holds
// at most about twice what is live. A new runner sweeps after its first
// minSweep rows.
func (p *Runner) sweepIfDue(ctx context.Context, tx pgx.Tx, applied int, steps int64, now time.Time) error {
	if !p.Circuit.Watermarked() {
		return nil
	}
	p.sweep.since += applied
	least := minSweep
	if p.SweepRows > 0 {
		least = p.SweepRows
	}
	if p.sweep.since < max(p.sweep.kept, least) {
		return nil
	}
	store, err := p.newStore(ctx, tx, nil)
	if err != nil {
		return err
	}
	eng := runtime.NewWithOptions(p.Circuit, store, runtime.Options{NoContents: true, StepsDone: steps, ManualSweep: true})
	if err := p.loadMarks(ctx, tx, eng); err != nil {
		return err
	}
	kept, err := eng.Sweep(ctx, now)
	if err != nil {
		return err
	}
	p.sweep.since, p.sweep.kept = 0, kept
	return nil
}
