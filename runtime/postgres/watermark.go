package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/runtime"
)

// metaWatermarks is the _meta key holding the tables' watermarks, as
// JSON: {"table": {"latest": time, "set": bool, "late": count}}. Each
// step writes it in its transaction, so it moves with the state.
const metaWatermarks = "watermarks"

// savedMark is one table's watermark as _meta records it, with its
// column and lateness, so that status can show it without the program.
type savedMark struct {
	Column     string    `json:"column"`
	LatenessUS int64     `json:"lateness_us"`
	Latest     time.Time `json:"latest"`
	Set        bool      `json:"set"`
	Late       int64     `json:"late"`
}

// parseMarks reads the watermarks _meta records, in order of table name.
func parseMarks(raw string) ([]runtime.WatermarkStatus, error) {
	var saved map[string]savedMark
	if err := json.Unmarshal([]byte(raw), &saved); err != nil {
		return nil, err
	}
	var out []runtime.WatermarkStatus
	for _, table := range slices.Sorted(maps.Keys(saved)) {
		m := saved[table]
		out = append(out, runtime.WatermarkStatus{Table: table, Column: m.Column, Lateness: time.Duration(m.LatenessUS) * time.Microsecond,
			Latest: m.Latest, Set: m.Set, Late: m.Late})
	}
	return out, nil
}

// loadMarks gives the engine the watermarks the program's _meta records.
func (p *Runner) loadMarks(ctx context.Context, q querier, eng *runtime.Engine) error {
	if !p.Circuit.Watermarked() {
		return nil
	}
	marks, err := p.savedMarks(ctx, q)
	if err != nil {
		return err
	}
	for _, w := range eng.Watermarks() {
		if m, ok := marks[w.Table]; ok {
			if err := eng.RestoreWatermark(w.Table, m.Latest, m.Set, m.Late); err != nil {
				return err
			}
		}
	}
	return nil
}

// savedMarks reads the watermarks _meta records, by table; none before
// the first step records them.
func (p *Runner) savedMarks(ctx context.Context, q querier) (map[string]savedMark, error) {
	marks := map[string]savedMark{}
	_, err := p.readMetaJSON(ctx, q, metaWatermarks, &marks)
	return marks, err
}

// stepMarks carries the watermarks through the chunks of one step: each
// chunk's changes are judged by the watermarks the step began with, as
// in memory, and the step moves them by all its chunks' rows.
type stepMarks struct {
	loaded bool
	start  []runtime.WatermarkStatus // as the step began
	now    []runtime.WatermarkStatus // moved by the chunks so far
}

// begin gives a chunk's engine the watermarks the step began with, and
// the late changes counted so far.
func (m *stepMarks) begin(ctx context.Context, p *Runner, q querier, eng *runtime.Engine) error {
	if !p.Circuit.Watermarked() {
		return nil
	}
	if !m.loaded {
		if err := p.loadMarks(ctx, q, eng); err != nil {
			return err
		}
		m.start, m.now, m.loaded = eng.Watermarks(), eng.Watermarks(), true
		return nil
	}
	for i, w := range m.start {
		if err := eng.RestoreWatermark(w.Table, w.Latest, w.Set, m.now[i].Late); err != nil {
			return err
		}
	}
	return nil
}

// end takes in a chunk's moves, and returns the watermarks as the step
// has moved them so far.
func (m *stepMarks) end(eng *runtime.Engine) []runtime.WatermarkStatus {
	for i, w := range eng.Watermarks() {
		n := &m.now[i]
		n.Late = w.Late
		if w.Set && (!n.Set || w.Latest.After(n.Latest)) {
			n.Latest, n.Set = w.Latest, true
		}
	}
	return m.now
}

// queueMarks queues the recording of the engine's watermarks in _meta.
func (p *Runner) queueMarks(b *pgx.Batch, marks []runtime.WatermarkStatus) error {
	if len(marks) == 0 {
		return nil
	}
	saved := map[string]savedMark{}
	for _, w := range marks {
		saved[w.Table] = savedMark{Column: w.Column, LatenessUS: w.Lateness.Microseconds(), Latest: w.Latest, Set: w.Set, Late: w.Late}
	}
	raw, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	b.Queue("INSERT INTO "+p.t("_meta")+" (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", metaWatermarks, string(raw))
	return nil
}

// backfillMarks are the watermarks after a backfill: each table's latest
// time among the rows it holds in tx's snapshot, none of them late, with
// the late changes counted before (an apply's backfill keeps them).
func (p *Runner) backfillMarks(ctx context.Context, tx pgx.Tx) ([]runtime.WatermarkStatus, error) {
	before, err := p.savedMarks(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []runtime.WatermarkStatus
	for _, in := range p.Circuit.Inputs {
		w := in.Watermark
		if w == nil {
			continue
		}
		col := in.Columns[w.Column].Name
		var latest *time.Time
		if err := tx.QueryRow(ctx, "SELECT max("+ident(col)+") FROM ONLY "+p.sourceName(in)).Scan(&latest); err != nil {
			return nil, fmt.Errorf("reading the latest %s of %s: %w", col, in.Name, err)
		}
		m := runtime.WatermarkStatus{Table: in.Name, Column: col, Lateness: w.Lateness, Late: before[in.Name].Late}
		if old := before[in.Name]; old.Set {
			m.Latest, m.Set = old.Latest, true
		}
		if latest != nil && (!m.Set || latest.After(m.Latest)) {
			m.Latest, m.Set = latest.UTC(), true
		}
		out = append(out, m)
	}
	return out, nil
}

// Watermarks returns the watermark of each source that declares one, as
// the program's last step left it: stepq status shows them.
func (p *Runner) Watermarks(ctx context.Context) ([]runtime.WatermarkStatus, error) {
	var out []runtime.WatermarkStatus
	saved, err := p.savedMarks(ctx, p.Pool)
	if isUndefinedTable(err) {
		err = nil // not installed: no watermark has moved
	}
	if err != nil {
		return nil, err
	}
	for _, in := range p.Circuit.Inputs {
		if w := in.Watermark; w != nil {
			m := saved[in.Name]
			out = append(out, runtime.WatermarkStatus{Table: in.Name, Column: in.Columns[w.Column].Name,
				Latest: m.Latest, Lateness: w.Lateness, Set: m.Set, Late: m.Late})
		}
	}
	return out, nil
}
