package runtime_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// watermarkProgram exercises every operator whose state a watermark
// frees (a group by window, a hop, a join on a window, a semi-join, a
// session, a distinct) beside views whose state it cannot free (a group
// by bidder), over a keyed table and a bag.
const watermarkProgram = `
table bid (id int8, bidder int8, price int8, at timestamp, primary key (id))
  watermark at - interval "10 seconds"
table click (user int8, at timestamp) watermark at - interval "5 seconds"

view bw = bid | tumble at every interval "10 seconds"
view cw = click | tumble at every interval "10 seconds"
view tumbled = bw | group by window_start { n = count(), hi = max(price) }
view hopped = bid | hop at every interval "5 seconds" size interval "20 seconds"
  | group by window_start, bidder { n = count() }
view highest = bw | group by window_start { m = max(price) }
view q7 = bw | join highest on bw.window_start == highest.window_start and bw.price == highest.m
  | select { id = bw.id, price = bw.price, at = bw.at }
view paired = bw | join cw on bw.window_start == cw.window_start and bw.bidder == cw.user
  | select { ws = bw.window_start, bidder = bw.bidder }
  | group by ws { n = count() }
view clicked = bw | semi join cw on bw.window_start == cw.window_start and bw.bidder == cw.user
view sessions = bid | session at gap interval "7 seconds" per bidder
  | group by bidder, window_start, window_end { n = count(), hi = max(price) }
view minutes = click | select { user, minute = date_trunc("minute", at) } | distinct
view per_bidder = bid | group by bidder { n = count() }
view projected = bid | select { id, at }
`

// watermarkModel is the test's own account of a table under a
// watermark: its rows (table), the rows the program takes (accepted: the
// insertions minus the retractions of its changes that came on time,
// each row judged alone), and the late changes: late counts them all,
// lateInserts the insertions. The runtime counts at least the late
// insertions and at most every late change: a change to a row it has
// forgotten is ignored, as one to an absent row is.
type watermarkModel struct {
	lateness          time.Duration
	latest            time.Time
	set               bool
	late, lateInserts int64
	col               int
	step              *zset.ZSet         // the accepted changes of the step
	byKey             map[int64]zset.Row // bid, by id
	bag               *zset.ZSet         // click
	accepted          *zset.ZSet
}

func (m *watermarkModel) isLate(at time.Time) bool {
	return m.set && at.Before(m.latest.Add(-m.lateness))
}

// judge takes one row of a change, or counts it late.
func (m *watermarkModel) judge(row zset.Row, w int64) {
	at := row[m.col].(time.Time)
	if m.isLate(at) {
		m.late++
		if w > 0 {
			m.lateInserts++
		}
		return
	}
	m.accepted.Add(row, w)
	m.step.Add(row, w)
}

// settle ends a step: the latest time of the rows it inserted, net of
// those it deleted again, moves the watermark.
func (m *watermarkModel) settle() {
	m.step.Each(func(row zset.Row, w int64) {
		if at := row[m.col].(time.Time); w > 0 && (!m.set || at.After(m.latest)) {
			m.latest, m.set = at, true
		}
	})
	m.step = zset.New()
}

func (m *watermarkModel) contents() *zset.ZSet { return m.accepted.Clone() }

// watermarkDriver makes random steps: rows arriving up to 15 seconds
// out of order (so some are late), deletions and updates of rows old and
// new, as the stream's time moves on.
type watermarkDriver struct {
	rng      *rand.Rand
	frontier time.Time
	nextID   int64
	bid      *watermarkModel
	click    *watermarkModel
	clicks   []zset.Row // every click inserted, late or not
}

func newWatermarkDriver(seed uint64) *watermarkDriver {
	return &watermarkDriver{
		rng:      rand.New(rand.NewPCG(seed, seed^0x51)),
		frontier: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		bid:      &watermarkModel{lateness: 10 * time.Second, col: 3, byKey: map[int64]zset.Row{}, accepted: zset.New(), step: zset.New()},
		click:    &watermarkModel{lateness: 5 * time.Second, col: 1, bag: zset.New(), accepted: zset.New(), step: zset.New()},
	}
}

func (d *watermarkDriver) at() time.Time {
	return d.frontier.Add(-time.Duration(d.rng.IntN(15_000)) * time.Millisecond).Truncate(time.Millisecond)
}

// step returns one step's changes, applied to the model.
func (d *watermarkDriver) step() map[string][]runtime.Change {
	d.frontier = d.frontier.Add(time.Duration(d.rng.IntN(3000)) * time.Millisecond)
	batch := map[string][]runtime.Change{}
	for range 1 + d.rng.IntN(6) {
		batch["bid"] = append(batch["bid"], d.bidChange())
	}
	for range d.rng.IntN(5) {
		batch["click"] = append(batch["click"], d.clickChange())
	}
	d.bid.settle()
	d.click.settle()
	return batch
}

func (d *watermarkDriver) anyBid() (int64, zset.Row) {
	if len(d.bid.byKey) == 0 || d.nextID == 0 {
		return -1, nil
	}
	// Keys are dense from 0: pick recent ones more often.
	id := d.nextID - 1 - int64(d.rng.IntN(int(min(d.nextID, 40))))
	if d.rng.IntN(4) == 0 {
		id = int64(d.rng.IntN(int(d.nextID)))
	}
	return id, d.bid.byKey[id]
}

func (d *watermarkDriver) bidChange() runtime.Change {
	m := d.bid
	switch r := d.rng.IntN(10); {
	case r < 6:
		row := zset.Row{d.nextID, int64(d.rng.IntN(4)), int64(d.rng.IntN(50)), d.at()}
		d.nextID++
		m.byKey[row[0].(int64)] = row
		m.judge(row, 1)
		return runtime.Change{Op: runtime.Insert, Row: row}
	case r < 8:
		id, old := d.anyBid()
		if id < 0 {
			return d.bidChange()
		}
		if old != nil {
			delete(m.byKey, id)
			m.judge(old, -1)
		}
		return runtime.Change{Op: runtime.Delete, Row: zset.Row{id, nil, nil, nil}}
	default:
		// An update of a row on time (of one late, the runtime may
		// have forgotten it), to a time now and then late.
		id, old := d.anyBid()
		if id < 0 || old == nil || m.isLate(old[3].(time.Time)) {
			return d.bidChange()
		}
		row := zset.Row{id, int64(d.rng.IntN(4)), int64(d.rng.IntN(50)), d.at()}
		if d.rng.IntN(2) == 0 {
			row[3] = old[3]
		}
		m.byKey[id] = row
		m.judge(old, -1)
		m.judge(row, 1)
		return runtime.Change{Op: runtime.Update, Row: row}
	}
}

func (d *watermarkDriver) clickChange() runtime.Change {
	m := d.click
	if n := len(d.clicks); n > 0 && d.rng.IntN(4) == 0 {
		// A recent click, or one from long ago.
		row := d.clicks[n-1-d.rng.IntN(min(n, 20))]
		if d.rng.IntN(4) == 0 {
			row = d.clicks[d.rng.IntN(n)]
		}
		if m.bag.Weight(row) > 0 {
			m.bag.Add(row, -1)
			m.judge(row, -1)
		}
		return runtime.Change{Op: runtime.Delete, Row: row}
	}
	row := zset.Row{int64(d.rng.IntN(4)), d.at()}
	d.clicks = append(d.clicks, row)
	m.bag.Add(row, 1)
	m.judge(row, 1)
	return runtime.Change{Op: runtime.Insert, Row: row}
}

// TestWatermarkOracle checks, after every step of random streams with
// late rows, every view against recomputation over the rows the
// watermarks let in, and the late rows counted against the model's.
func TestWatermarkOracle(t *testing.T) {
	// Seeds, and the workers each runs on (every batch split, however
	// small, on more than one).
	for seed, workers := range map[uint64]int{1: 1, 2: 1, 3: 3} {
		t.Run(fmt.Sprintf("seed %d on %d workers", seed, workers), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			prog, err := compile.Compile(ctx, "watermarks.step", watermarkProgram, nil)
			if err != nil {
				t.Fatal(err)
			}
			eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{Workers: workers, ParallelBatch: 1})
			d := newWatermarkDriver(seed)
			rows := map[string]int{}
			for step := range 400 {
				if _, err := eng.Step(ctx, d.step()); err != nil {
					t.Fatalf("step %d: %v", step+1, err)
				}
				if step > 100 && step%4 != 0 {
					continue // recomputing costs the whole stream
				}
				tables := map[string]*zset.ZSet{"bid": d.bid.contents(), "click": d.click.contents()}
				want, err := oracle.Eval(prog.Checked, tables)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range prog.Circuit.Views {
					got, _ := eng.Contents(v.Name)
					if !got.Equal(want[v.Name]) {
						t.Fatalf("step %d: view %s differs from recomputation\nengine - oracle:\n%s\noracle - engine:\n%s",
							step+1, v.Name, dump(got.Minus(want[v.Name])), dump(want[v.Name].Minus(got)))
					}
					rows[v.Name] = max(rows[v.Name], got.Len())
				}
			}
			for _, v := range prog.Circuit.Views {
				if rows[v.Name] == 0 {
					t.Errorf("view %s was always empty", v.Name)
				}
			}
			marks := eng.Watermarks()
			for i, m := range []*watermarkModel{d.bid, d.click} {
				if len(marks) != 2 || marks[i].Late < m.lateInserts || marks[i].Late > m.late {
					t.Errorf("late changes %+v, want between %d and %d", marks, m.lateInserts, m.late)
				}
				if m.lateInserts == 0 || m.late == m.lateInserts {
					t.Errorf("no late changes of some kind: the stream exercises nothing")
				}
			}
			if !marks[0].Latest.Equal(d.bid.latest) || !marks[1].Latest.Equal(d.click.latest) {
				t.Errorf("latest times %v, %v; want %v, %v", marks[0].Latest, marks[1].Latest, d.bid.latest, d.click.latest)
			}
			t.Logf("late: bid %d, click %d", d.bid.late, d.click.late)
		})
	}
}

// TestWatermarkBoundsState runs a long stream and checks that the state
// the operators keep, and the tables' rows the engine keeps, stop
// growing with the stream: what they hold after 20,000 steps is no more
// than about what they held after 5,000, while four times the rows came.
func TestWatermarkBoundsState(t *testing.T) {
	ctx := context.Background()
	prog, err := compile.Compile(ctx, "watermarks.step", watermarkProgram, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := runtime.NewMemoryStore()
	eng := runtime.NewWithOptions(prog.Circuit, store, runtime.Options{Workers: 2})
	d := newWatermarkDriver(7)
	held := func() (state, rows int) {
		for _, name := range []string{"bid", "click"} {
			z, _ := eng.Contents(name)
			rows += z.Len()
		}
		return store.Entries(), rows
	}
	var state5k, rows5k int
	for step := range *watermarkSteps {
		if _, err := eng.Step(ctx, d.step()); err != nil {
			t.Fatalf("step %d: %v", step+1, err)
		}
		if step+1 == *watermarkSteps/4 {
			state5k, rows5k = held()
		}
	}
	state, rows := held()
	t.Logf("after 5,000 steps: %d state entries, %d table rows; after 20,000: %d and %d; %d bids inserted",
		state5k, rows5k, state, rows, d.nextID)
	// per_bidder's four groups are all that may grow, and do not; the
	// sweeps let the rest reach about twice the live state.
	if state > 2*state5k+minSweepSlack || rows > 2*rows5k+minSweepSlack {
		t.Errorf("state grew with the stream: %d entries and %d rows after 20,000 steps, %d and %d after 5,000", state, rows, state5k, rows5k)
	}
	if state > int(d.nextID)/4 {
		t.Errorf("%d state entries for %d bids: the watermark freed little", state, d.nextID)
	}
}

var watermarkSteps = flag.Int("watermark.steps", 20_000, "steps of TestWatermarkBoundsState")

// minSweepSlack allows for the entries a sweep waits for (minSweep in
// the runtime) in each state.
const minSweepSlack = 20 * 1024
