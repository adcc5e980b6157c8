package soak

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// genDDL is the schema every generated program reads: k, a keyed table,
// and b, a bag that may hold duplicate rows. Their numeric and float
// columns receive equal values spelled differently (1.5 and 1.50, 0 and
// 0.0, -0 and 0).
const genDDL = `CREATE TABLE k (id int PRIMARY KEY, g int NOT NULL, n numeric, f float8, s text);
CREATE TABLE b (g int, n numeric NOT NULL, s text);`

// genView is one view of a generated program, with the SQL that computes
// it from scratch. Where the language picks one spelling of equal values
// (distinct, union, group keys, min and max: the first in order of the
// written forms, spec.md "Equality and order"), the SQL picks the same
// one, so that the comparison can be by representation.
type genView struct {
	name, src, sql string
	// pk is the primary key of the output table, empty for none; keyed
	// is a key the view's rows have, which the generator may make the
	// output's primary key.
	pk, keyed string
}

// firstSpelling orders equal values as the runtime and the oracle choose
// among them: by their encoding (types.RowKey). For numerics that is the
// order of their text (1.5 before 1.50, 0 before 0.0); for floats it puts
// 0 before -0, where the text order spec.md names would put -0 first (see
// floatSpelling).
func firstSpelling(col string) string { return col + "::text COLLATE \"C\"" }

// floatSpelling orders equal floats as the runtime does: 0 before -0.
func floatSpelling(col string) string { return "(" + col + "::text LIKE '-%')" }

// genTemplates returns the views a generated program picks from, each
// made with random parameters. The first group are selects of the keyed
// table (whose primary-keyed outputs see every update as a delete and an
// insert of the same key); the second, bags holding equal numerics
// spelled differently.
func genTemplates(r *rand.Rand) (keyedSelects, bags, others []genView) {
	g := r.IntN(3)
	keyedSelects = []genView{
		{src: fmt.Sprintf("k | where g >= %d | select { id, g, n, f, s }", g),
			sql: fmt.Sprintf("SELECT id, g, n, f, s FROM k WHERE g >= %d", g), keyed: "id"},
		{src: "k", sql: "SELECT id, g, n, f, s FROM k", keyed: "id"},
		{src: "k | select { id, n2 = n * 2, t = s || \"!\" }",
			sql: "SELECT id, n * 2, s || '!' FROM k", keyed: "id"},
	}
	bags = []genView{
		{src: "b | where n >= 0 | select { g, n, s }", sql: "SELECT g, n, s FROM b WHERE n >= 0"},
		{src: "k | select { n, f }", sql: "SELECT n, f FROM k"},
		{src: "b | select { n }", sql: "SELECT n FROM b"},
	}
	others = []genView{
		{src: "k | join b on k.g == b.g | select { id, kn = k.n, bn = b.n, bs = b.s }",
			sql: "SELECT k.id, k.n, b.n, b.s FROM k JOIN b ON k.g = b.g"},
		{src: "k | join b on k.n == b.n | select { id, kn = k.n, bn = b.n }",
			sql: "SELECT k.id, k.n, b.n FROM k JOIN b ON k.n = b.n"},
		{src: "k | left join b on k.g == b.g and b.n > 0 | select { id, bn = b.n, bs = b.s }",
			sql: "SELECT k.id, b.n, b.s FROM k LEFT JOIN b ON k.g = b.g AND b.n > 0"},
		{src: "k | group by g { c = count(), cn = count(n), sn = sum(n), si = sum(id) }",
			sql: "SELECT g, count(*), count(n), sum(n), sum(id) FROM k GROUP BY g", keyed: "g"},
		{src: "k | group by g { lo = min(n), hi = max(n), fl = min(f), fh = max(f), ls = min(s), hs = max(s) }",
			sql: `SELECT g,
  (array_agg(n ORDER BY n, ` + firstSpelling("n") + `) FILTER (WHERE n IS NOT NULL))[1],
  (array_agg(n ORDER BY n DESC, ` + firstSpelling("n") + `) FILTER (WHERE n IS NOT NULL))[1],
  (array_agg(f ORDER BY f, ` + floatSpelling("f") + `) FILTER (WHERE f IS NOT NULL))[1],
  (array_agg(f ORDER BY f DESC, ` + floatSpelling("f") + `) FILTER (WHERE f IS NOT NULL))[1],
  min(s COLLATE "C"), max(s COLLATE "C") FROM k GROUP BY g`, keyed: "g"},
		{src: "b | group by n { c = count(), sg = sum(g) }",
			sql: "SELECT (array_agg(n ORDER BY " + firstSpelling("n") + "))[1], count(*), sum(g) FROM b GROUP BY n", keyed: "n"},
		{src: "b | select { n } | distinct",
			sql: "SELECT DISTINCT ON (n) n FROM b ORDER BY n, " + firstSpelling("n")},
		{src: "k | select { f } | distinct",
			sql: "SELECT DISTINCT ON (f) f FROM k ORDER BY f, " + floatSpelling("f")},
		{src: "k | select { g, s } | distinct", sql: "SELECT DISTINCT g, s FROM k"},
		{src: "k | select { g, n } | union (b | select { g, n })",
			sql: "SELECT DISTINCT ON (g, n) g, n FROM (SELECT g, n FROM k UNION ALL SELECT g, n FROM b) u ORDER BY g, n, " + firstSpelling("n")},
		{src: "k | select { g, n } | union all (b | select { g, n })",
			sql: "SELECT g, n FROM k UNION ALL SELECT g, n FROM b"},
		{src: "k | join b on k.g == b.g | group by k.id { c = count(), t = sum(b.n) }",
			sql: "SELECT k.id, count(*), sum(b.n) FROM k JOIN b ON k.g = b.g GROUP BY k.id", keyed: "id"},
		{src: fmt.Sprintf("k | where n > %d or f < 0 | group by s { c = count(), m = max(id) }", g-1),
			sql: fmt.Sprintf("SELECT s, count(*), max(id) FROM k WHERE n > %d OR f < 0 GROUP BY s", g-1)},
	}
	return keyedSelects, bags, others
}

// genProgram makes a program of a keyed table's select (with a primary
// key on its output, mostly), a bag with equal numerics spelled
// differently, and two to four more views.
func genProgram(r *rand.Rand) (src string, views []genView) {
	keyedSelects, bags, others := genTemplates(r)
	pick := func(from []genView) genView { return from[r.IntN(len(from))] }
	views = append(views, pick(keyedSelects), pick(bags))
	r.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	views = append(views, others[:2+r.IntN(3)]...)
	var b strings.Builder
	b.WriteString("source k = table k\nsource b = table b\n")
	for i := range views {
		v := &views[i]
		v.name = fmt.Sprintf("v%d", i)
		if v.keyed != "" && (i == 0 || r.IntN(2) == 0) && !(i == 0 && r.IntN(5) == 0) {
			v.pk = v.keyed
		}
		fmt.Fprintf(&b, "view %s = %s\n", v.name, v.src)
		fmt.Fprintf(&b, "output %s to table o_%s", v.name, v.name)
		if v.pk != "" {
			fmt.Fprintf(&b, " primary key (%s)", v.pk)
		}
		b.WriteString("\n")
	}
	return b.String(), views
}

// genStatement returns a random SQL statement changing k or b.
func genStatement(r *rand.Rand) string {
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	num := func() string { return pick("1.5", "1.50", "0", "0.0", "2", "-1.25", "1.500") }
	numOrNull := func() string { return pick(num(), num(), "NULL") }
	flt := func() string { return pick("'0'", "'-0'", "'1.5'", "'2.5e3'", "NULL") }
	txt := func() string { return pick("'a'", "'b'", "'a b'", "'o''x'", "''", "NULL") }
	id := func() int { return r.IntN(10) }
	krow := func() string {
		return fmt.Sprintf("(%d, %d, %s, %s, %s)", id(), r.IntN(4), numOrNull(), flt(), txt())
	}
	brow := func() string {
		return fmt.Sprintf("(%s, %s, %s)", pick("0", "1", "2", "3", "NULL"), num(), txt())
	}
	switch r.IntN(20) {
	case 0, 1:
		return "INSERT INTO k VALUES " + krow() + " ON CONFLICT (id) DO UPDATE SET n = excluded.n, f = excluded.f, s = excluded.s"
	case 2:
		return "INSERT INTO k VALUES " + krow() + ", " + krow() + ", " + krow() + " ON CONFLICT DO NOTHING"
	case 3:
		return fmt.Sprintf("UPDATE k SET n = %s, g = %d WHERE id = %d", numOrNull(), r.IntN(4), id())
	case 4:
		// A key change, which may collide: the statement's savepoint
		// absorbs the error.
		return fmt.Sprintf("UPDATE k SET id = %d WHERE id = %d", id(), id())
	case 5:
		// Bulk updates of the whole table, of non-keys and keys.
		return pick("UPDATE k SET n = n", "UPDATE k SET g = (g + 1) % 4", "UPDATE k SET f = -f",
			"UPDATE k SET n = n * 1.0", "UPDATE k SET s = s || ''", "UPDATE k SET id = -id")
	case 6:
		return fmt.Sprintf("UPDATE k SET f = %s, s = %s WHERE id %% 3 = %d", flt(), txt(), r.IntN(3))
	case 7:
		return fmt.Sprintf("DELETE FROM k WHERE id = %d", id())
	case 8:
		return fmt.Sprintf("DELETE FROM k WHERE n = %s", num())
	case 9:
		// One spelling only: 1.5 and 1.50 are equal, their rows are not.
		return fmt.Sprintf("DELETE FROM k WHERE n::text = '%s'", num())
	case 10, 11, 12:
		row := brow()
		if r.IntN(3) == 0 {
			return "INSERT INTO b VALUES " + row + ", " + row + ", " + brow()
		}
		return "INSERT INTO b VALUES " + row
	case 13, 14:
		return fmt.Sprintf("DELETE FROM b WHERE ctid = (SELECT ctid FROM b WHERE n::text = '%s' LIMIT 1)", num())
	case 15:
		return fmt.Sprintf("DELETE FROM b WHERE g = %d", r.IntN(4))
	case 16:
		return pick("UPDATE b SET g = (g + 1) % 4", "UPDATE b SET n = n + 0", "UPDATE b SET s = NULL WHERE s = 'a'")
	case 17:
		return fmt.Sprintf("UPDATE b SET n = %s WHERE n = %s", num(), num())
	case 18:
		return "INSERT INTO k SELECT id + 10, g, n, f, s FROM k WHERE id BETWEEN 0 AND 9 ON CONFLICT DO NOTHING"
	default:
		return pick("DELETE FROM k WHERE id >= 10 OR id < 0", "TRUNCATE b", "DELETE FROM b WHERE g IS NULL")
	}
}
