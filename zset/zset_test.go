package zset_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

func r(vs ...any) zset.Row { return vs }

func e(w int64, vs ...any) zset.Entry { return zset.Entry{Row: vs, Weight: w} }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// text renders a Z-set's entries in order, for comparison and messages.
func text(z *zset.ZSet) string {
	var parts []string
	for _, en := range z.Entries() {
		var vs []string
		for _, v := range en.Row {
			if v == nil {
				vs = append(vs, "NULL")
			} else if d, ok := v.(decimal.Decimal); ok {
				vs = append(vs, types.FormatNumeric(d))
			} else {
				vs = append(vs, fmt.Sprint(v))
			}
		}
		parts = append(parts, fmt.Sprintf("(%s)x%d", strings.Join(vs, ","), en.Weight))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func TestFromEntries(t *testing.T) {
	tests := []struct {
		name    string
		entries []zset.Entry
		want    string
		len     int
	}{
		{"empty", nil, "{}", 0},
		{"one", []zset.Entry{e(1, int64(1))}, "{(1)x1}", 1},
		{"weights add", []zset.Entry{e(2, int64(1)), e(3, int64(1))}, "{(1)x5}", 1},
		{"cancel", []zset.Entry{e(2, int64(1)), e(-2, int64(1))}, "{}", 0},
		{"zero weight is dropped", []zset.Entry{e(0, int64(1))}, "{}", 0},
		{"negative", []zset.Entry{e(-1, "a")}, "{(a)x-1}", 1},
		{"sorted by row", []zset.Entry{e(1, int64(3)), e(1, int64(1)), e(1, int64(2))}, "{(1)x1 (2)x1 (3)x1}", 3},
		{"NULL sorts first", []zset.Entry{e(1, int64(0)), e(1, nil)}, "{(NULL)x1 (0)x1}", 2},
		{"NULL is not 0", []zset.Entry{e(1, nil), e(-1, int64(0))}, "{(NULL)x1 (0)x-1}", 2},
		// A row's identity is its values as spelled: 1.50 prints unlike
		// 1.5, so they are two rows (equal as keys, see types.KeyOf).
		{"numeric spellings are rows", []zset.Entry{e(1, dec("1.50")), e(1, dec("1.5"))}, "{(1.5)x1 (1.50)x1}", 2},
		{"numeric cancels in its own spelling", []zset.Entry{e(1, dec("2.0")), e(-1, dec("2")), e(-1, dec("2.0"))}, "{(2)x-1}", 1},
		{"float -0 is a row of its own, as it prints", []zset.Entry{e(1, 0.0), e(1, math.Copysign(0, -1))}, "{(0)x1 (-0)x1}", 2},
		{"NaN equals NaN", []zset.Entry{e(1, math.NaN()), e(1, math.NaN())}, "{(NaN)x2}", 1},
		{"rows differ in any column", []zset.Entry{e(1, int64(1), "a"), e(1, int64(1), "b"), e(1, int64(1), "a")}, "{(1,a)x2 (1,b)x1}", 2},
		{"arity matters", []zset.Entry{e(1, int64(1)), e(1, int64(1), nil)}, "{(1)x1 (1,NULL)x1}", 2},
		{"text vs bytes", []zset.Entry{e(1, "ab", []byte("ab"))}, "{(ab,[97 98])x1}", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := zset.FromEntries(tc.entries...)
			if got := text(z); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if z.Len() != tc.len {
				t.Errorf("Len = %d, want %d", z.Len(), tc.len)
			}
			if z.IsEmpty() != (tc.len == 0) {
				t.Errorf("IsEmpty = %v with Len %d", z.IsEmpty(), tc.len)
			}
		})
	}
}

func TestWeight(t *testing.T) {
	z := zset.FromEntries(e(3, int64(1), "a"), e(-2, int64(2), nil), e(1, dec("0.10"), "x"))
	tests := []struct {
		row  zset.Row
		want int64
	}{
		{r(int64(1), "a"), 3},
		{r(int64(2), nil), -2},
		{r(int64(2), "a"), 0},
		{r(int64(1)), 0},
		{r(dec("0.10"), "x"), 1},
		{r(dec("0.1"), "x"), 0},
		{r(), 0},
	}
	for _, tc := range tests {
		if got := z.Weight(tc.row); got != tc.want {
			t.Errorf("Weight(%v) = %d, want %d", tc.row, got, tc.want)
		}
	}
}

func TestOperations(t *testing.T) {
	a := zset.FromEntries(e(1, int64(1)), e(2, int64(2)), e(-1, int64(3)))
	b := zset.FromEntries(e(-1, int64(1)), e(1, int64(2)), e(4, int64(4)))
	tests := []struct {
		name string
		got  *zset.ZSet
		want string
	}{
		{"plus", a.Plus(b), "{(2)x3 (3)x-1 (4)x4}"},
		{"minus", a.Minus(b), "{(1)x2 (2)x1 (3)x-1 (4)x-4}"},
		{"negate", a.Negate(), "{(1)x-1 (2)x-2 (3)x1}"},
		{"distinct", a.Distinct(), "{(1)x1 (2)x1}"},
		{"distinct of negative only", zset.FromEntries(e(-3, "x")).Distinct(), "{}"},
		{"clone", a.Clone(), "{(1)x1 (2)x2 (3)x-1}"},
		{"plus empty", a.Plus(zset.New()), "{(1)x1 (2)x2 (3)x-1}"},
		{"minus self", a.Minus(a), "{}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := text(tc.got); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if got := text(a); got != "{(1)x1 (2)x2 (3)x-1}" {
		t.Errorf("operations changed their operand: a = %s", got)
	}
	if got := text(b); got != "{(1)x-1 (2)x1 (4)x4}" {
		t.Errorf("operations changed their operand: b = %s", got)
	}
}

func TestAddAll(t *testing.T) {
	tests := []struct {
		factor int64
		want   string
	}{
		{1, "{(1)x3 (2)x-2}"},
		{0, "{(1)x2}"},
		{-1, "{(1)x1 (2)x2}"},
		{-2, "{(2)x4}"},
		{3, "{(1)x5 (2)x-6}"},
	}
	// The Z-set added, made each way: its rows filed, listed to be added
	// up when first used, or listed once each.
	makers := map[string]func(...zset.Entry) *zset.ZSet{
		"FromEntries":  zset.FromEntries,
		"Lazy":         func(es ...zset.Entry) *zset.ZSet { return zset.Lazy(es) },
		"Consolidated": func(es ...zset.Entry) *zset.ZSet { return zset.Consolidated(es) },
	}
	for name, mk := range makers {
		for _, tc := range tests {
			z := zset.FromEntries(e(2, int64(1)))
			other := mk(e(1, int64(1)), e(-2, int64(2)))
			z.AddAll(other, tc.factor)
			if got := text(z); got != tc.want {
				t.Errorf("AddAll of %s, factor %d: got %s, want %s", name, tc.factor, got, tc.want)
			}
			if got := text(other); got != "{(1)x1 (2)x-2}" {
				t.Errorf("AddAll of %s, factor %d, changed it: %s", name, tc.factor, got)
			}
		}
	}
}

func TestPredicates(t *testing.T) {
	tests := []struct {
		name          string
		z             *zset.ZSet
		isSet, hasNeg bool
	}{
		{"empty", zset.New(), true, false},
		{"set", zset.FromEntries(e(1, "a"), e(1, "b")), true, false},
		{"bag", zset.FromEntries(e(1, "a"), e(2, "b")), false, false},
		{"negative", zset.FromEntries(e(1, "a"), e(-1, "b")), false, true},
	}
	for _, tc := range tests {
		if got := tc.z.IsSet(); got != tc.isSet {
			t.Errorf("%s: IsSet = %v", tc.name, got)
		}
		if got := tc.z.HasNegative(); got != tc.hasNeg {
			t.Errorf("%s: HasNegative = %v", tc.name, got)
		}
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b *zset.ZSet
		want bool
	}{
		{"empty", zset.New(), zset.New(), true},
		{"same", zset.FromEntries(e(1, "a")), zset.FromEntries(e(1, "a")), true},
		{"weight differs", zset.FromEntries(e(1, "a")), zset.FromEntries(e(2, "a")), false},
		{"row differs", zset.FromEntries(e(1, "a")), zset.FromEntries(e(1, "b")), false},
		{"subset", zset.FromEntries(e(1, "a")), zset.FromEntries(e(1, "a"), e(1, "b")), false},
		{"numeric scale", zset.FromEntries(e(1, dec("1.50"))), zset.FromEntries(e(1, dec("1.5"))), false},
		{"cancelled", zset.FromEntries(e(1, "a"), e(-1, "a")), zset.New(), true},
		{"same len, different rows", zset.FromEntries(e(1, "a"), e(1, "b")), zset.FromEntries(e(1, "a"), e(1, "c")), false},
	}
	for _, tc := range tests {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%s: a.Equal(b) = %v, want %v", tc.name, got, tc.want)
		}
		if got := tc.b.Equal(tc.a); got != tc.want {
			t.Errorf("%s: b.Equal(a) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := zset.FromEntries(e(1, "a"), e(2, "b"))
	c := a.Clone()
	c.Add(r("a"), 5)
	c.Add(r("b"), -2)
	c.Add(r("c"), 1)
	if got := text(a); got != "{(a)x1 (b)x2}" {
		t.Errorf("changing a clone changed the original: %s", got)
	}
	if got := text(c); got != "{(a)x6 (c)x1}" {
		t.Errorf("clone = %s", got)
	}
}

func TestEach(t *testing.T) {
	z := zset.FromEntries(e(1, "a"), e(-3, "b"))
	var got []string
	z.Each(func(row zset.Row, w int64) { got = append(got, fmt.Sprintf("%v:%d", row[0], w)) })
	slices.Sort(got)
	if want := []string{"a:1", "b:-3"}; !slices.Equal(got, want) {
		t.Errorf("Each visited %v, want %v", got, want)
	}
}

// decode builds three Z-sets from fuzz bytes. Each entry takes four
// bytes: which Z-set, two bytes picking the row's values, and a weight in
// -8..7. The first two Z-sets are added to entry by entry; the third is
// made from its entries by Lazy, which adds many up on first use, or,
// when they are an odd number, by Consolidated from their sum's entries. Rows have three typed columns, each sometimes NULL: an int8, a
// numeric whose values repeat at different scales, and a float8 with -0
// and NaN, so that equal rows written differently meet.
func decode(data []byte) [3]*zset.ZSet {
	zs := [3]*zset.ZSet{zset.New(), zset.New(), zset.New()}
	var third []zset.Entry
	numerics := []decimal.Decimal{dec("1"), dec("1.0"), dec("1.50"), dec("1.5"), dec("-2"), dec("0.000")}
	floats := []float64{0, math.Copysign(0, -1), math.NaN(), 1.5, math.Inf(-1)}
	for len(data) >= 4 {
		which, x, y, w := data[0]%3, data[1], data[2], int64(int8(data[3]))>>4
		data = data[4:]
		row := make(zset.Row, 3)
		if x%5 != 0 {
			row[0] = int64(x % 3)
		}
		if y%7 != 0 {
			row[1] = numerics[int(y)%len(numerics)]
		}
		if (x/5)%4 != 0 {
			row[2] = floats[int(x/5+y)%len(floats)]
		}
		if which == 2 {
			third = append(third, zset.Entry{Row: row, Weight: w})
			continue
		}
		zs[which].Add(row, w)
	}
	zs[2] = zset.Lazy(third)
	if len(third)%2 == 1 {
		zs[2] = zset.Consolidated(zset.FromEntries(third...).Entries())
	}
	return zs
}

// wellFormed checks the invariants of one Z-set: no zero weights, entries
// sorted and consistent with Weight and Len.
func wellFormed(t *testing.T, name string, z *zset.ZSet) {
	t.Helper()
	es := z.Entries()
	if len(es) != z.Len() {
		t.Fatalf("%s: %d entries, Len %d", name, len(es), z.Len())
	}
	for i, en := range es {
		if en.Weight == 0 {
			t.Fatalf("%s: holds a row of weight 0: %v", name, en.Row)
		}
		if got := z.Weight(en.Row); got != en.Weight {
			t.Fatalf("%s: Weight(%v) = %d, entry says %d", name, en.Row, got, en.Weight)
		}
		if i > 0 && !ordered(es[i-1].Row, en.Row) {
			t.Fatalf("%s: entries out of order or repeated: %v then %v", name, es[i-1].Row, en.Row)
		}
	}
}

// FuzzZSetAlgebra checks that Z-sets form an abelian group under Plus and
// that Distinct is idempotent, on Z-sets decoded from the fuzz input.
func FuzzZSetAlgebra(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 1, 0x10, 1, 1, 1, 0xf0, 2, 1, 1, 0x30})
	f.Add([]byte{0, 6, 2, 0x20, 0, 6, 3, 0x20, 1, 7, 1, 0x90, 2, 13, 4, 0x70})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox"))
	// Many entries of the third Z-set, rows repeating with weights that
	// cancel and numerics of one value at different scales.
	f.Add([]byte{2, 1, 1, 0x10, 2, 2, 1, 0x20, 2, 1, 1, 0xf0, 2, 3, 2, 0x10, 2, 3, 3, 0x10, 2, 4, 2, 0x30,
		2, 5, 6, 0x10, 2, 6, 4, 0x10, 2, 8, 1, 0x70, 2, 9, 9, 0x10, 2, 10, 5, 0x20, 2, 3, 2, 0xf0, 2, 11, 1, 0x10,
		2, 12, 3, 0x10, 2, 13, 8, 0x10, 0, 1, 1, 0x10, 1, 3, 3, 0x20})
	f.Fuzz(func(t *testing.T, data []byte) {
		zs := decode(data)
		a, b, c := zs[0], zs[1], zs[2]
		copies := [3]string{text(a), text(b), text(c)}
		for i, z := range zs {
			wellFormed(t, fmt.Sprintf("z%d", i), z)
		}
		check := func(law string, x, y *zset.ZSet) {
			t.Helper()
			wellFormed(t, law, x)
			wellFormed(t, law, y)
			if !x.Equal(y) || !y.Equal(x) {
				t.Fatalf("%s fails:\n a = %s\n b = %s\n c = %s\n left  = %s\n right = %s", law, text(a), text(b), text(c), text(x), text(y))
			}
		}
		check("a+b == b+a", a.Plus(b), b.Plus(a))
		check("(a+b)+c == a+(b+c)", a.Plus(b).Plus(c), a.Plus(b.Plus(c)))
		check("a+0 == a", a.Plus(zset.New()), a)
		check("a+(-a) == 0", a.Plus(a.Negate()), zset.New())
		check("a-b+b == a", a.Minus(b).Plus(b), a)
		check("a-b == a+(-b)", a.Minus(b), a.Plus(b.Negate()))
		check("-(-a) == a", a.Negate().Negate(), a)
		check("-(a+b) == -a + -b", a.Plus(b).Negate(), a.Negate().Plus(b.Negate()))
		check("distinct(distinct(a)) == distinct(a)", a.Distinct().Distinct(), a.Distinct())
		check("a == clone(a)", a.Clone(), a)
		acc := a.Clone()
		acc.AddAll(b, 2)
		check("a + 2b == a+b+b", acc, a.Plus(b).Plus(b))
		d := a.Distinct()
		if !d.IsSet() || d.HasNegative() {
			t.Fatalf("distinct(a) = %s is not a set", text(d))
		}
		// Rows are identified by spelling but Distinct works on classes of
		// SQL-equal rows (1.5 and 1.50 are one class, as in SELECT
		// DISTINCT): each class with a row of positive weight in a has
		// exactly one row in distinct(a), one of those rows.
		positive := map[string]bool{}
		for _, en := range a.Entries() {
			if en.Weight > 0 {
				positive[types.KeyOf(en.Row)] = true
			}
		}
		seen := map[string]bool{}
		for _, en := range d.Entries() {
			class := types.KeyOf(en.Row)
			if seen[class] {
				t.Fatalf("distinct(a) = %s has two rows equal to %v", text(d), en.Row)
			}
			seen[class] = true
			if a.Weight(en.Row) <= 0 {
				t.Fatalf("distinct(a) gives %v, which a gives weight %d", en.Row, a.Weight(en.Row))
			}
		}
		if len(seen) != len(positive) {
			t.Fatalf("distinct(a) = %s has %d classes of rows; a has %d with positive weight", text(d), len(seen), len(positive))
		}
		// Equal rows may print differently (1.5 and 1.50), so printing
		// decides Equal in one direction only.
		if text(a) == text(b) && !a.Equal(b) {
			t.Fatalf("a and b print the same but are not Equal: %s", text(a))
		}
		for i, z := range zs {
			if text(z) != copies[i] {
				t.Fatalf("operations changed operand z%d: %s, was %s", i, text(z), copies[i])
			}
		}
	})
}

// ordered reports whether a sorts strictly before b: by value, then, for
// equal values spelled differently, by spelling.
func ordered(a, b zset.Row) bool {
	c := types.CompareRows(a, b)
	return c < 0 || c == 0 && types.RowKey(a) < types.RowKey(b)
}

// TestNewSized fills Z-sets made for n rows with fewer, as many and more
// rows than that, rows that cancel among them, and checks each holds
// what a Z-set grown from empty holds, and that one made for up to four
// rows is one allocation with them.
func TestNewSized(t *testing.T) {
	for _, size := range []int{0, 1, 2, 3, 4, 5, 8, 9} {
		for _, rows := range []int{0, 1, 2, 3, 4, 5, 9, 20} {
			t.Run(fmt.Sprintf("size=%d/rows=%d", size, rows), func(t *testing.T) {
				z, want := zset.NewSized(size), zset.New()
				for i := range rows {
					z.Add(r(int64(i%7), "x"), int64(i+1))
					want.Add(r(int64(i%7), "x"), int64(i+1))
				}
				for i := range rows / 2 { // cancel some
					z.Add(r(int64(i%7), "x"), -int64(i+1))
					want.Add(r(int64(i%7), "x"), -int64(i+1))
				}
				if !z.Equal(want) || text(z) != text(want) {
					t.Fatalf("got %s, want %s", text(z), text(want))
				}
			})
		}
	}
	for n := 1; n <= 4; n++ {
		es := make([]zset.Entry, n)
		for i := range es {
			es[i] = e(1, int64(i))
		}
		if allocs := testing.AllocsPerRun(100, func() { zset.FromEntries(es...) }); allocs != 1 {
			t.Errorf("FromEntries of %d rows: %v allocations, want 1", n, allocs)
		}
	}
}

// TestNewSizedIndependent checks that two small Z-sets, each in one
// object with its rows, do not share their rows' room.
func TestNewSizedIndependent(t *testing.T) {
	a, b := zset.NewSized(2), zset.NewSized(2)
	a.Add(r(int64(1)), 1)
	b.Add(r(int64(2)), 1)
	c := a.Clone()
	c.Add(r(int64(3)), 1)
	if text(a) != text(zset.FromEntries(e(1, int64(1)))) || text(b) != text(zset.FromEntries(e(1, int64(2)))) {
		t.Fatalf("a = %s, b = %s", text(a), text(b))
	}
}

// TestLazyFirstUseConcurrent uses a Z-set made by Lazy, and one made by
// Consolidated, from four goroutines at once, its first use: each sees
// the entries added up, as FromEntries adds them, and the last adds them
// to a Z-set of its own (run with -race).
func TestLazyFirstUseConcurrent(t *testing.T) {
	var es []zset.Entry
	for i := range 60 {
		es = append(es, e(int64(i%7-3), int64(i%20), fmt.Sprint(i%3)))
	}
	want := zset.FromEntries(es...)
	for i := range 20 {
		z := zset.Lazy(slices.Clone(es))
		if i%2 == 1 {
			z = zset.Consolidated(want.Entries())
		}
		var wg sync.WaitGroup
		got := make([]string, 4)
		for g := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch g {
				case 0:
					got[g] = text(z)
				case 1:
					got[g] = fmt.Sprint(z.Len(), z.Weight(zset.Row{int64(1), "1"}))
				case 2:
					got[g] = fmt.Sprint(z.Equal(want))
				default:
					sum := zset.New()
					sum.AddAll(z, 1)
					got[g] = text(sum)
				}
			}()
		}
		wg.Wait()
		wants := []string{text(want), fmt.Sprint(want.Len(), want.Weight(zset.Row{int64(1), "1"})), "true", text(want)}
		if !slices.Equal(got, wants) {
			t.Fatalf("got %q, want %q", got, wants)
		}
	}
}

// TestConsolidatedChanged adds to a Z-set made by Consolidated, which
// then reads its rows from what it holds, not from the entries it was
// made of.
func TestConsolidatedChanged(t *testing.T) {
	var es []zset.Entry
	for i := range 12 {
		es = append(es, e(1, int64(i)))
	}
	z := zset.Consolidated(es)
	if z.Len() != 12 {
		t.Fatalf("Len %d, want 12", z.Len())
	}
	z.Add(zset.Row{int64(0)}, -1)
	z.Add(zset.Row{int64(20)}, 2)
	n := 0
	z.Each(func(row zset.Row, w int64) {
		n++
		if row[0] == int64(0) || row[0] == int64(20) && w != 2 {
			t.Errorf("Each gives %v x%d", row, w)
		}
	})
	if z.Len() != 12 || n != 12 || z.Weight(zset.Row{int64(20)}) != 2 {
		t.Fatalf("after the changes: Len %d, Each %d rows, weight of 20: %d; want 12, 12, 2", z.Len(), n, z.Weight(zset.Row{int64(20)}))
	}
}
