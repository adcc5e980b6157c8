package oracle_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

func check(t *testing.T, src string) *typecheck.Program {
	t.Helper()
	f, err := lang.Parse("test.step", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return p
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// row builds a row, turning Go ints into int64.
func row(vs ...any) zset.Row {
	for i, v := range vs {
		if n, ok := v.(int); ok {
			vs[i] = int64(n)
		}
	}
	return vs
}

// show renders a Z-set in order, each value in its text form followed by
// its Go type's initial (i int64, d decimal, f float64, s string, b bool),
// so that the tests check result types as well as values.
func show(z *zset.ZSet) string {
	var lines []string
	for _, e := range z.Entries() {
		var vs []string
		for _, v := range e.Row {
			switch x := v.(type) {
			case nil:
				vs = append(vs, "NULL")
			case int64:
				vs = append(vs, fmt.Sprintf("%di", x))
			case decimal.Decimal:
				vs = append(vs, types.FormatNumeric(x)+"d")
			case float64:
				vs = append(vs, types.FormatFloat(x)+"f")
			case string:
				vs = append(vs, fmt.Sprintf("%qs", x))
			case bool:
				vs = append(vs, fmt.Sprintf("%vb", x))
			case []any:
				vs = append(vs, types.Format(x, types.Type{})+"?")
			default:
				vs = append(vs, fmt.Sprintf("%v?", x))
			}
		}
		lines = append(lines, fmt.Sprintf("(%s) x%d", strings.Join(vs, ", "), e.Weight))
	}
	return strings.Join(lines, "\n")
}

func bag(entries ...zset.Entry) *zset.ZSet { return zset.FromEntries(entries...) }

func w(n int64, r zset.Row) zset.Entry { return zset.Entry{Row: r, Weight: n} }

func TestEval(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		tables map[string]*zset.ZSet
		want   map[string]string
	}{
		{
			name: "filter drops false and NULL",
			src: `table t (a int4, b int4?)
view v = t | where b > 1`,
			tables: map[string]*zset.ZSet{"t": bag(w(1, row(1, 2)), w(2, row(2, nil)), w(3, row(3, 1)), w(2, row(4, 5)))},
			want:   map[string]string{"v": "(1i, 2i) x1\n(4i, 5i) x2"},
		},
		{
			name: "project merges equal rows",
			src: `table t (a int4, b int4?)
view v = t | select { m = a % 2, c = coalesce(b, 0) }`,
			tables: map[string]*zset.ZSet{"t": bag(w(1, row(1, 0)), w(1, row(3, nil)), w(2, row(2, 7)))},
			want:   map[string]string{"v": "(0i, 7i) x2\n(1i, 0i) x2"},
		},
		{
			name: "join multiplies weights and skips NULL keys",
			src: `table l (k int4?, x text)
table r (k int4?, y text)
view j = l | join r on l.k == r.k | select { x, y }`,
			tables: map[string]*zset.ZSet{
				"l": bag(w(2, row(1, "a")), w(1, row(nil, "n")), w(1, row(2, "b"))),
				"r": bag(w(3, row(1, "p")), w(1, row(nil, "q")), w(1, row(3, "z"))),
			},
			want: map[string]string{"j": `("a"s, "p"s) x6`},
		},
		{
			name: "join on two keys with a residual condition and a cast",
			src: `table l (k int4, c text, x int4)
table r (k int8, c text, y int4)
view j = l | join r on l.k == r.k and l.c == r.c and x < y | select { x, y }`,
			tables: map[string]*zset.ZSet{
				"l": bag(w(1, row(1, "a", 5)), w(1, row(1, "b", 5)), w(1, row(2, "a", 1))),
				"r": bag(w(1, row(1, "a", 6)), w(1, row(1, "a", 4)), w(1, row(1, "c", 9)), w(1, row(2, "a", 2))),
			},
			want: map[string]string{"j": "(1i, 2i) x1\n(5i, 6i) x1"},
		},
		{
			name: "outer joins pad unmatched rows, once per weight",
			src: `table l (k int4?, x text)
table r (k int4?, y text)
view lj = l | left join r on l.k == r.k | select { x, y }
view rj = l | right join r on l.k == r.k | select { x, y }
view fj = l | full join r on l.k == r.k | select { x, y }`,
			tables: map[string]*zset.ZSet{
				"l": bag(w(2, row(1, "a")), w(1, row(nil, "n")), w(3, row(2, "b"))),
				"r": bag(w(2, row(1, "p")), w(1, row(nil, "q")), w(1, row(3, "z"))),
			},
			want: map[string]string{
				"lj": `("a"s, "p"s) x4` + "\n" + `("b"s, NULL) x3` + "\n" + `("n"s, NULL) x1`,
				"rj": `(NULL, "q"s) x1` + "\n" + `(NULL, "z"s) x1` + "\n" + `("a"s, "p"s) x4`,
				"fj": `(NULL, "q"s) x1` + "\n" + `(NULL, "z"s) x1` + "\n" + `("a"s, "p"s) x4` + "\n" + `("b"s, NULL) x3` + "\n" + `("n"s, NULL) x1`,
			},
		},
		{
			name: "an outer join's condition is part of the match",
			src: `table l (k int4, x int4)
table r (k int4, y int4)
view lj = l | left join r on l.k == r.k and x < y | select { x, y }
view filtered = l | left join r on l.k == r.k | where x < y | select { x, y }`,
			tables: map[string]*zset.ZSet{
				"l": bag(w(1, row(1, 5)), w(1, row(1, 9)), w(1, row(2, 0))),
				"r": bag(w(1, row(1, 6)), w(1, row(1, 7)), w(1, row(2, 0))),
			},
			want: map[string]string{
				"lj":       "(0i, NULL) x1\n(5i, 6i) x1\n(5i, 7i) x1\n(9i, NULL) x1",
				"filtered": "(5i, 6i) x1\n(5i, 7i) x1",
			},
		},
		{
			name: "semi and anti joins keep left rows with their own weight",
			src: `table l (k int4?, x text)
table r (k int4?, y int4)
view sj = l | semi join r on l.k == r.k
view aj = l | anti join r on l.k == r.k
view sc = l | semi join r on l.k == r.k and y > 1`,
			tables: map[string]*zset.ZSet{
				"l": bag(w(2, row(1, "a")), w(1, row(nil, "n")), w(1, row(2, "b")), w(1, row(3, "c"))),
				"r": bag(w(3, row(1, 1)), w(1, row(1, 2)), w(1, row(nil, 5)), w(1, row(2, 0))),
			},
			want: map[string]string{
				"sj": `(1i, "a"s) x2` + "\n" + `(2i, "b"s) x1`,
				"aj": `(NULL, "n"s) x1` + "\n" + `(3i, "c"s) x1`,
				"sc": `(1i, "a"s) x2`,
			},
		},
		{
			name: "cross join pairs every row",
			src: `table l (x int4)
table r (y int4)
view cj = l | cross join r`,
			tables: map[string]*zset.ZSet{"l": bag(w(2, row(1)), w(1, row(2))), "r": bag(w(3, row(7)))},
			want:   map[string]string{"cj": "(1i, 7i) x6\n(2i, 7i) x3"},
		},
		{
			name: "group aggregates with NULLs and weights",
			src: `table g (k int4, v int4?, n numeric?, b int8?, f float8?)
view a = g | group by k {
    c = count(), cv = count(v), s = sum(v), av = avg(v), mn = min(v), mx = max(v),
    sn = sum(n), an = avg(n), sb = sum(b), mf = max(f)
  }`,
			tables: map[string]*zset.ZSet{"g": bag(
				w(2, row(1, 3, dec("1.50"), 4, 0.5)),
				w(1, row(1, 10, dec("2"), nil, nil)),
				w(1, row(1, nil, nil, 1, 2.5)),
				w(1, row(2, nil, nil, nil, nil)),
				w(3, row(2, nil, nil, nil, -1.0)),
			)},
			want: map[string]string{"a": "(1i, 4i, 3i, 16i, 5.3333333333333333d, 3i, 10i, 5.00d, 1.6666666666666667d, 9d, 2.5f) x1\n" +
				"(2i, 4i, 0i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1f) x1"},
		},
		{
			name: "ordered and distinct aggregates with NULLs, ties and weights",
			src: `table g (k int4, o int4?, v text?, n numeric?, b bool?)
view a = g | group by k {
    cd = count(distinct n), ba = bool_and(b), bo = bool_or(b),
    arr = array_agg(v order by o desc), vals = array_agg(v), s = string_agg(v, "," order by o),
    f = first(v order by o), l = last(v order by o), fnum = first(n order by o)
  }`,
			tables: map[string]*zset.ZSet{"g": bag(
				w(2, row(1, 2, "b", dec("1.5"), true)),
				w(1, row(1, 2, "a", dec("1.50"), nil)),
				w(1, row(1, nil, "z", dec("2"), true)),
				w(1, row(1, 1, nil, nil, false)),
				w(1, row(2, 1, nil, nil, nil)),
			)},
			// o ascending: 1 (NULL), 2 (a, b, b: ties by value), NULL (z).
			want: map[string]string{"a": `(1i, 2i, falseb, trueb, {z,a,b,b,NULL}?, {a,b,b,z,NULL}?, "a,b,b,z"s, NULL, "z"s, NULL) x1` + "\n" +
				`(2i, 0i, NULL, NULL, {NULL}?, {NULL}?, NULL, NULL, NULL, NULL) x1`},
		},
		{
			name: "records and nested groups",
			src: `table g (k int4, v int4?, t text)
view a = g | group by k { rows = array_agg({v, t} order by t), big = first({v, t} order by v desc) } | select { k, rows, who = big.t }`,
			tables: map[string]*zset.ZSet{"g": bag(w(1, row(1, 2, "b c")), w(2, row(1, nil, "a")), w(1, row(2, 5, "x")))},
			want:   map[string]string{"a": `(1i, {"{NULL,a}","{NULL,a}","{2,\"b c\"}"}?, "a"s) x1` + "\n" + `(2i, {"{5,x}"}?, "x"s) x1`},
		},
		{
			name: "global group over no rows, as SQL",
			src: `table g (v int4)
view a = g | group { c = count(), s = sum(v), l = array_agg(v) }`,
			tables: map[string]*zset.ZSet{"g": zset.New()},
			want:   map[string]string{"a": "(0i, NULL, NULL) x1"},
		},
		{
			name: "global group",
			src: `table g (v int4)
view a = g | group { c = count(), s = sum(v), mx = max(v) * 2 }`,
			tables: map[string]*zset.ZSet{"g": bag(w(2, row(4)), w(1, row(-1)))},
			want:   map[string]string{"a": "(3i, 7i, 8i) x1"},
		},
		{
			name: "group output expressions over keys and aggregates",
			src: `table g (k int4, v int4)
view a = g | group by m = k % 2 { spread = max(v) - min(v), km = m * 10 }`,
			tables: map[string]*zset.ZSet{"g": bag(w(1, row(1, 3)), w(1, row(3, 9)), w(1, row(2, 4)))},
			want:   map[string]string{"a": "(0i, 0i, 0i) x1\n(1i, 6i, 10i) x1"},
		},
		{
			name: "NULL keys form one group",
			src: `table g (k int4?, v int4)
view a = g | group by k { c = count() }`,
			tables: map[string]*zset.ZSet{"g": bag(w(1, row(nil, 1)), w(2, row(nil, 2)), w(1, row(1, 1)))},
			want:   map[string]string{"a": "(NULL, 3i) x1\n(1i, 1i) x1"},
		},
		{
			name: "distinct, union and union all",
			src: `table a (x int4)
table b (x int4)
view d = a | distinct
view u = a | union b
view ua = a | union all b`,
			tables: map[string]*zset.ZSet{
				"a": bag(w(3, row(1)), w(1, row(2))),
				"b": bag(w(2, row(2)), w(1, row(3))),
			},
			want: map[string]string{
				"d":  "(1i) x1\n(2i) x1",
				"u":  "(1i) x1\n(2i) x1\n(3i) x1",
				"ua": "(1i) x3\n(2i) x3\n(3i) x1",
			},
		},
		{
			name: "values keep duplicates, views read views",
			src: `table t (k int4)
view vals = values [{k = 1, s = "one"}, {k = 1, s = "one"}, {k = 2, s = "two"}]
view j = t | join vals on t.k == vals.k | select { s }
view c = j | group by s { n = count() }`,
			tables: map[string]*zset.ZSet{"t": bag(w(1, row(1)), w(1, row(3)))},
			want: map[string]string{
				"vals": `(1i, "one"s) x2` + "\n" + `(2i, "two"s) x1`,
				"j":    `("one"s) x2`,
				"c":    `("one"s, 2i) x1`,
			},
		},
		{
			name: "except and intersect, sets and bags",
			src: `table a (x numeric)
table b (x numeric)
view ex = a | except b
view exa = a | except all b
view ix = a | intersect b
view ixa = a | intersect all b`,
			tables: map[string]*zset.ZSet{
				"a": bag(w(3, row(dec("1.50"))), w(1, row(dec("1.5"))), w(2, row(dec("2"))), w(1, row(dec("4")))),
				"b": bag(w(2, row(dec("1.500"))), w(1, row(dec("2.0"))), w(5, row(dec("3")))),
			},
			want: map[string]string{
				// A class shows as its left row of smallest identity:
				// 1.5 before 1.50.
				"ex":  "(4d) x1",
				"exa": "(1.5d) x2\n(2d) x1\n(4d) x1",
				"ix":  "(1.5d) x1\n(2d) x1",
				"ixa": "(1.5d) x2\n(2d) x1",
			},
		},
		{
			name: "top per group, ties by the whole row, NULLs first descending",
			src: `table s (u int4, score int4?, name text)
view best = s | top 2 by score desc per u
view low = s | top 4 by score`,
			tables: map[string]*zset.ZSet{"s": bag(
				w(1, row(1, 5, "b")), w(1, row(1, 5, "a")), w(1, row(1, 4, "c")), w(2, row(1, nil, "z")),
				w(3, row(2, 1, "d")),
			)},
			want: map[string]string{
				"best": `(1i, NULL, "z"s) x2` + "\n" + `(2i, 1i, "d"s) x2`,
				"low":  `(1i, 4i, "c"s) x1` + "\n" + `(2i, 1i, "d"s) x3`,
			},
		},
		{
			name: "recursion: reachability around a cycle",
			src: `table e (src int4, dst int4)
view reach = e | select { src, dst }
  | union (reach | join e on reach.dst == e.src | select { src = reach.src, dst = e.dst })`,
			tables: map[string]*zset.ZSet{"e": bag(w(2, row(1, 2)), w(1, row(2, 1)), w(1, row(2, 3)))},
			want: map[string]string{
				"reach": "(1i, 1i) x1\n(1i, 2i) x1\n(1i, 3i) x1\n(2i, 1i) x1\n(2i, 2i) x1\n(2i, 3i) x1",
			},
		},
		{
			name:   "missing tables are empty",
			src:    "table t (k int4)\nview v = t | distinct",
			tables: nil,
			want:   map[string]string{"v": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := check(t, tc.src)
			got, err := oracle.Eval(p, tc.tables)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(p.Views) {
				t.Errorf("Eval returned %d views, the program has %d", len(got), len(p.Views))
			}
			for name, want := range tc.want {
				z, ok := got[name]
				if !ok {
					t.Fatalf("no view %s", name)
				}
				if s := show(z); s != want {
					t.Errorf("view %s:\n%s\nwant:\n%s", name, s, want)
				}
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		name, src string
		tables    map[string]*zset.ZSet
		want      string
	}{
		{
			"division by zero",
			"table t (a int4)\nview v = t | select { r = 1 / a }",
			map[string]*zset.ZSet{"t": bag(w(1, row(0)))},
			"division by zero",
		},
		{
			"a recursion that overflows",
			"table t (a int4)\nview up = t | union (up | select { a = a * 2 + 1 })",
			map[string]*zset.ZSet{"t": bag(w(1, row(0)))},
			"out of range",
		},
		{
			"negative weight into a group",
			"table t (a int4)\nview v = t | group { c = count() }",
			map[string]*zset.ZSet{"t": bag(w(-1, row(0)))},
			"negative weight",
		},
	}
	for _, tc := range tests {
		_, err := oracle.Eval(check(t, tc.src), tc.tables)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestEvalLeavesInputs checks that Eval does not change the tables given.
func TestEvalLeavesInputs(t *testing.T) {
	p := check(t, `table t (a int4)
view v = t | union all t
view d = t | distinct`)
	tab := bag(w(2, row(1)))
	got, err := oracle.Eval(p, map[string]*zset.ZSet{"t": tab})
	if err != nil {
		t.Fatal(err)
	}
	got["d"].Add(row(5), 1)
	if s := show(tab); s != "(1i) x2" {
		t.Errorf("table changed to %s", s)
	}
}
