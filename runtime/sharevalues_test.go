package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/shopspring/decimal"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// boxed returns v in a box of its own, as a caller's row holds it: the
// compiler shares the boxes of constants, which a test must not lean on.
func boxed[T any](v T) any {
	p := new(T)
	*p = v
	return *p
}

// boxOf returns the address of v's box.
func boxOf(v any) unsafe.Pointer { return (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] }

// TestValueShare shares the boxes of repeated text values and of an
// integer equal to the previous row's: in a copy of the row, leaving the
// caller's as it was, or in place when the rows are the engine's
// (Options.OwnsRows); keeps a row with nothing to share as it came; and
// leaves NULLs and other columns alone.
func TestValueShare(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		t.Run(fmt.Sprintf("inPlace=%v", inPlace), func(t *testing.T) { testValueShare(t, inPlace) })
	}
}

func testValueShare(t *testing.T, inPlace bool) {
	cols := []ir.Column{
		{Name: "basket", Type: types.Type{Kind: types.Int8}},
		{Name: "product", Type: types.Type{Kind: types.Text, Nullable: true}},
		{Name: "price", Type: types.Type{Kind: types.Float8}},
	}
	s := newValueShare(cols, inPlace)
	first := []any{boxed(int64(1000)), boxed("apple"), boxed(1.5)}
	if got := s.row(first); &got[0] != &first[0] {
		t.Fatal("the first row, with nothing seen before, was copied")
	}
	second := []any{boxed(int64(1000)), boxed("apple"), boxed(1.5)}
	given := slices.Clone(second)
	got := s.row(second)
	if copied := &got[0] != &second[0]; copied == inPlace {
		t.Fatalf("a row sharing boxes was copied: %v", copied)
	}
	for i := range given {
		if !inPlace && !types.SameBox(second[i], given[i]) {
			t.Fatalf("the caller's row changed at column %d", i)
		}
	}
	if !types.SameRowKey(got, given) {
		t.Fatalf("the row kept reads %v, given %v", got, given)
	}
	if !types.SameBox(got[0], first[0]) || !types.SameBox(got[1], first[1]) {
		t.Fatal("the repeated basket and product do not share the first row's boxes")
	}
	if !types.SameBox(got[2], given[2]) {
		t.Fatal("a float column's box was swapped")
	}
	// An integer shares only with the previous value; a text with any
	// seen before.
	s.row([]any{boxed(int64(2000)), boxed("pear"), boxed(2.0)})
	third := s.row([]any{boxed(int64(1000)), boxed("apple"), nil})
	if types.SameBox(third[0], first[0]) {
		t.Fatal("an integer shared a box with a value before the previous")
	}
	if !types.SameBox(third[1], first[1]) || third[2] != nil {
		t.Fatal("a text seen two rows back was not shared, or a NULL changed")
	}
	for i, want := range []any{int64(1000), "apple", nil} {
		if third[i] != want {
			t.Fatalf("column %d reads %v, want %v", i, third[i], want)
		}
	}
}

// TestValueShareStops stops sharing a text column whose values do not
// repeat once it has seen shareTexts of them, and goes on sharing one
// whose values mostly do.
func TestValueShareStops(t *testing.T) {
	cols := []ir.Column{{Name: "t", Type: types.Type{Kind: types.Text}}}
	for _, tc := range []struct {
		name    string
		value   func(i int) string
		sharing bool
	}{
		{"distinct", func(i int) string { return fmt.Sprint("v", i) }, false},
		{"repeating", func(i int) string { return fmt.Sprint("v", i%(shareTexts/4)) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newValueShare(cols, false)
			for i := range shareTexts + 10 {
				s.row([]any{boxed(tc.value(i))})
			}
			c := &s.cols[0]
			if (c.texts != nil) != tc.sharing {
				t.Fatalf("sharing is %v after %d values, want %v", c.texts != nil, shareTexts+10, tc.sharing)
			}
			if c.texts != nil && len(c.texts) > shareTexts {
				t.Fatalf("the column remembers %d values, more than %d", len(c.texts), shareTexts)
			}
		})
	}
}

// TestTableSharesValues runs steps through keyed and bag tables, whole
// and split over partitions: the rows the table keeps share the boxes of
// repeated products, read as given, and the caller's rows are untouched.
func TestTableSharesValues(t *testing.T) {
	const src = `
table items (basket int8, product text, qty int4, primary key (basket, product))
table notes (product text, note text)
view n = items | group by product { n = count() }
output n
`
	c := lower(t, src)
	for _, run := range engineRuns {
		workers, owns := run.workers, run.ownsRows
		t.Run(fmt.Sprintf("workers=%d/ownsRows=%v", workers, owns), func(t *testing.T) {
			ctx := context.Background()
			e := NewWithOptions(c, NewMemoryStore(), Options{Workers: workers, ParallelBatch: 2, OwnsRows: owns})
			var given, copies [][]any
			for step := range 3 {
				var items, notes []Change
				for b := range 6 {
					row := []any{boxed(int64(1000*step + b)), boxed(fmt.Sprint("p", b%2)), int64(1)}
					given, copies = append(given, row), append(copies, slices.Clone(row))
					items = append(items, Change{Op: Insert, Row: row})
					notes = append(notes, Change{Op: Insert, Row: []any{boxed(fmt.Sprint("p", b%2)), boxed("x")}})
				}
				if _, err := e.Step(ctx, map[string][]Change{"items": items, "notes": notes}); err != nil {
					t.Fatal(err)
				}
			}
			callerRowsKept(t, given, copies, owns)
			for _, tc := range []struct {
				table string
				col   int
				rows  int
			}{{"items", 1, 18}, {"notes", 0, 2}} {
				z := e.tables[tc.table].contents()
				if z.Len() != tc.rows {
					t.Fatalf("%s keeps %d rows, want %d", tc.table, z.Len(), tc.rows)
				}
				boxes := map[string]map[unsafe.Pointer]bool{}
				z.Each(func(row zset.Row, _ int64) {
					p := row[tc.col].(string)
					if boxes[p] == nil {
						boxes[p] = map[unsafe.Pointer]bool{}
					}
					boxes[p][boxOf(row[tc.col])] = true
				})
				for p, bs := range boxes {
					// One box per partition at most: each resolves its
					// own rows.
					if len(bs) > workers {
						t.Errorf("%s: %s is kept in %d boxes, want at most %d", tc.table, p, len(bs), workers)
					}
				}
			}
		})
	}
}

// TestTableCompactsNumerics checks that a table keeps its rows'
// numerics each in one object (types.CompactDecimal), reading as given,
// without writing to the caller's rows, in a table with a key and in
// one without; and that a row whose numeric the caller spells in an
// object of its own is retracted all the same.
func TestTableCompactsNumerics(t *testing.T) {
	const src = `
table prices (name text, price numeric, primary key (name))
table bag (price numeric, n int8)
view total = bag | group by n { s = sum(price) }
output total
`
	c := lower(t, src)
	for _, run := range engineRuns {
		workers, owns := run.workers, run.ownsRows
		t.Run(fmt.Sprintf("workers=%d/ownsRows=%v", workers, owns), func(t *testing.T) {
			ctx := context.Background()
			e := NewWithOptions(c, NewMemoryStore(), Options{Workers: workers, ParallelBatch: 2, OwnsRows: owns})
			var prices, bag []Change
			var given [][]any
			for i := range 6 {
				p := decimal.RequireFromString(fmt.Sprintf("%d.%02d", i, 10*i)) // three objects, boxed
				prices = append(prices, Change{Op: Insert, Row: []any{fmt.Sprint("p", i), p}})
				bag = append(bag, Change{Op: Insert, Row: []any{decimal.New(int64(150+i), -2), int64(i % 2)}})
				given = append(given, prices[i].Row, bag[i].Row)
			}
			copies := make([][]any, len(given))
			for i, row := range given {
				copies[i] = slices.Clone(row)
			}
			if _, err := e.Step(ctx, map[string][]Change{"prices": prices, "bag": bag}); err != nil {
				t.Fatal(err)
			}
			callerRowsKept(t, given, copies, owns)
			// Retract a bag row and update a price, each spelled in
			// objects of the caller's own.
			res, err := e.Step(ctx, map[string][]Change{
				"bag":    {{Op: Delete, Row: []any{decimal.RequireFromString("1.51"), int64(1)}}},
				"prices": {{Op: Update, Row: []any{"p2", decimal.RequireFromString("9.990")}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(res.Changes["total"].Entries()); !strings.Contains(got, "4.59") {
				t.Errorf("total's changes after retracting 1.51 from 1.51+1.53+1.55: %s, want the sum 4.59 taken to 3.08", got)
			}
			want := map[string]string{
				"prices": "[p0 0.00] [p1 1.10] [p2 9.990] [p3 3.30] [p4 4.40] [p5 5.50]",
				"bag":    "[1.50 0] [1.52 0] [1.53 1] [1.54 0] [1.55 1]",
			}
			for table, rows := range want {
				var got []string
				e.tables[table].contents().Each(func(row zset.Row, w int64) {
					var cols []string
					for _, v := range row {
						if d, ok := v.(decimal.Decimal); ok {
							if !types.SameBox(types.CompactDecimal(v), v) {
								t.Errorf("%s keeps %s in objects of their own, not one", table, d)
							}
							v = types.FormatNumeric(d) // as spelled: 1.50, not 1.5
						}
						cols = append(cols, fmt.Sprint(v))
					}
					got = append(got, "["+strings.Join(cols, " ")+"]")
				})
				slices.Sort(got)
				if s := strings.Join(got, " "); s != rows {
					t.Errorf("%s holds %s, want %s", table, s, rows)
				}
			}
		})
	}
}

// engineRuns are the engines a test of value sharing runs on: whole and
// split over partitions, copying the caller's rows to share their values
// or, when they are the engine's, sharing in place.
var engineRuns = []struct {
	workers  int
	ownsRows bool
}{{1, false}, {2, false}, {1, true}, {2, true}}

// callerRowsKept fails the test unless each of the caller's rows given
// still holds the boxes of copies, copied before the steps: a table
// copies a row to change its values, never writing to the caller's.
// When the rows were the engine's (owns), a table may have swapped a
// value for an equal one's box, and each must read as its copy does.
func callerRowsKept(t *testing.T, given, copies [][]any, owns bool) {
	t.Helper()
	for i := range given {
		for j := range given[i] {
			same := types.SameBox(given[i][j], copies[i][j])
			if owns {
				same = types.SameRowKey(given[i][j:j+1], copies[i][j:j+1])
			}
			if !same {
				t.Fatalf("the caller's row %d changed at column %d: %v, given %v", i, j, given[i][j], copies[i][j])
			}
		}
	}
}
