package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// pgCase is a program run against Postgres and checked, after every batch
// of random SQL changes, against Postgres computing each output from
// scratch with equivalent SQL.
type pgCase struct {
	name    string
	ddl     string
	program string
	// outputs maps each output table to equivalent SQL. For a program
	// that reads the clock, the SQL reads the clock as $1.
	outputs map[string]string
	// change returns a random SQL change; now is the clock's time.
	change func(r *rand.Rand, now time.Time) string
	clock  bool
}

var shopSQL = `SELECT li.basket_id, sum(p.price * li.qty) AS total, count(*) AS items
  FROM line_items li JOIN products p ON li.product_name = p.name GROUP BY li.basket_id`

func shopCase(t *testing.T) pgCase {
	src, err := os.ReadFile("../../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	products := []string{"tv", "radio", "lamp", "desk", "o'neil"}
	return pgCase{
		name: "shop",
		ddl: `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`,
		program: string(src),
		outputs: map[string]string{
			"basket_totals": shopSQL,
			"receipts":      "SELECT format('Basket id: %s total: $%s', basket_id, total) FROM (" + shopSQL + ") s",
		},
		change: func(r *rand.Rand, _ time.Time) string {
			p := quote(products[r.IntN(len(products))])
			b := r.IntN(8)
			switch r.IntN(7) {
			case 0:
				return fmt.Sprintf("INSERT INTO products VALUES (%s, %d.%d) ON CONFLICT DO NOTHING", p, 1+r.IntN(9), r.IntN(10))
			case 1, 2:
				return fmt.Sprintf("UPDATE products SET price = %d.%02d WHERE name = %s", 1+r.IntN(9), r.IntN(100), p)
			case 3:
				return "DELETE FROM products WHERE name = " + p
			case 4:
				return fmt.Sprintf("INSERT INTO line_items VALUES (%d, %s, %d) ON CONFLICT DO NOTHING", b, p, 1+r.IntN(4))
			case 5:
				return fmt.Sprintf("UPDATE line_items SET qty = qty + 1 WHERE basket_id = %d", b)
			default:
				return fmt.Sprintf("DELETE FROM line_items WHERE basket_id = %d AND product_name = %s", b, p)
			}
		},
	}
}

// check fails the test when the output table of c's output holds other
// rows than its SQL computes from scratch at now; it returns the table's
// name as queried.
func (c pgCase) check(t *testing.T, pool *pgxpool.Pool, pg *postgres.Runner, output string, now time.Time, when string) (table string) {
	t.Helper()
	query, table := c.outputs[output], output
	var args []any
	if strings.Contains(query, "$1") {
		args = append(args, now)
	}
	if strings.Contains(c.program, "output "+output+"\n") {
		table = pg.Schema + "." + output
	}
	n, err := diff(context.Background(), pool, table, query, args...)
	if err != nil {
		t.Fatalf("%s: comparing %s: %v", when, table, err)
	}
	if n != 0 {
		t.Fatalf("%s: output %s differs from recomputation in %d rows", when, table, n)
	}
	return table
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var operatorsCase = pgCase{
	name: "operators",
	ddl: `CREATE TABLE t (id int PRIMARY KEY, g int NOT NULL, v int, s text NOT NULL);
CREATE TABLE u (id int PRIMARY KEY, g int NOT NULL, w int NOT NULL);`,
	program: `
source t = table t
source u = table u
view filtered = t | where v > 2 | select { id, v }
view joined = t | join u on t.g == u.g and t.id != u.id | select { tid = t.id, uid = u.id, total = t.v + u.w }
view grouped = t | group by g { n = count(), cv = count(v), total = sum(v), lo = min(v), hi = max(v), first = min(s) }
view dist = t | select { g } | distinct
view uni = t | select { g } | union (u | select { g })
view uall = t | select { g } | union all (u | select { g })
view listed = t | where g in (1, 3) | select { id, v, low = v not in (0, 1, 2), named = s in ("a", "b c") }
output filtered to table filtered
output listed to table listed
output joined to table joined
output grouped to table grouped index (g)
output dist to table dist
output uni to table uni
output uall to table uall
`,
	outputs: map[string]string{
		"filtered": "SELECT id, v FROM t WHERE v > 2",
		"joined":   "SELECT t.id, u.id, t.v + u.w FROM t JOIN u ON t.g = u.g AND t.id <> u.id",
		"grouped":  "SELECT g, count(*), count(v), sum(v), min(v), max(v), min(s COLLATE \"C\") FROM t GROUP BY g",
		"dist":     "SELECT DISTINCT g FROM t",
		"uni":      "SELECT g FROM t UNION SELECT g FROM u",
		"uall":     "SELECT g FROM t UNION ALL SELECT g FROM u",
		"listed":   "SELECT id, v, v NOT IN (0, 1, 2), s IN ('a', 'b c') FROM t WHERE g IN (1, 3)",
	},
	change: func(r *rand.Rand, _ time.Time) string {
		id, g := r.IntN(12), r.IntN(4)
		v := fmt.Sprint(r.IntN(6))
		if r.IntN(5) == 0 {
			v = "NULL"
		}
		switch r.IntN(6) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO t VALUES (%d, %d, %s, 's%d') ON CONFLICT (id) DO UPDATE SET v = excluded.v", id, g, v, r.IntN(3))
		case 2:
			return fmt.Sprintf("UPDATE t SET g = %d, v = %s WHERE id %% 3 = %d", g, v, id%3)
		case 3:
			return fmt.Sprintf("DELETE FROM t WHERE id = %d", id)
		case 4:
			return fmt.Sprintf("INSERT INTO u VALUES (%d, %d, %d) ON CONFLICT (id) DO UPDATE SET w = excluded.w", id, g, r.IntN(9))
		default:
			return fmt.Sprintf("DELETE FROM u WHERE g = %d", g)
		}
	},
}

// aggregatesCase checks count(distinct), bool_and/or, array_agg,
// string_agg and first/last against Postgres's own aggregates. first and
// last are (array_agg(x ORDER BY ...))[1]: ties in the order keys are
// broken by the value, NULL last, as spec.md says; text orders bytewise,
// as COLLATE "C".
var aggregatesCase = pgCase{
	name: "aggregates",
	ddl:  `CREATE TABLE c (id int PRIMARY KEY, post int NOT NULL, o int, v text, n numeric, b boolean);`,
	program: `
source c = table c
view agg = c | group by post {
    cd = count(distinct v), cdn = count(distinct n), ba = bool_and(b), bo = bool_or(b),
    vs = array_agg(v order by o desc, id), ids = array_agg(id), s = string_agg(v, "," order by o, id),
    sd = string_agg(v, "-"), f = first(v order by o), l = last(n order by o, id desc)
  }
view busy = agg | where cd > 1 | select { post, cd }
view filtered = c | group by post {
    big = count() filter (where n > 1), s = sum(n) filter (where b), dv = count(distinct v) filter (where o is not null),
    sv = string_agg(v, ";" order by id) filter (where o > 1)
  }
view overall = c | group { rows = count(), total = sum(n), lo = min(v), ids = array_agg(id order by id) }
output agg to table agg index (post)
output busy to table busy
output filtered to table filtered
output overall to table overall
`,
	outputs: map[string]string{
		"agg": `SELECT post, count(DISTINCT v), count(DISTINCT n), bool_and(b), bool_or(b),
  array_agg(v ORDER BY o DESC, id), array_agg(id ORDER BY id), string_agg(v, ',' ORDER BY o, id),
  string_agg(v, '-' ORDER BY v COLLATE "C"), (array_agg(v ORDER BY o, v COLLATE "C"))[1],
  (array_agg(n ORDER BY o DESC, id))[1]
  FROM c GROUP BY post`,
		"busy": `SELECT post, count(DISTINCT v) FROM c GROUP BY post HAVING count(DISTINCT v) > 1`,
		"filtered": `SELECT post, count(*) FILTER (WHERE n > 1), sum(n) FILTER (WHERE b), count(DISTINCT v) FILTER (WHERE o IS NOT NULL),
  string_agg(v, ';' ORDER BY id) FILTER (WHERE o > 1) FROM c GROUP BY post`,
		// Without GROUP BY: one row even when c is empty.
		"overall": `SELECT count(*), sum(n), min(v COLLATE "C"), array_agg(id ORDER BY id) FROM c`,
	},
	change: func(r *rand.Rand, _ time.Time) string {
		id, post := r.IntN(14), r.IntN(4)
		pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
		o := pick("1", "2", "3", "NULL")
		v := pick("'a'", "'b c'", "'d,e'", `'f"g'`, "''", "'B'", "NULL")
		n := pick("1.5", "1.50", "2", "-0.25", "NULL")
		b := pick("true", "false", "NULL")
		switch r.IntN(5) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO c VALUES (%d, %d, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET o = excluded.o, v = excluded.v", id, post, o, v, n, b)
		case 2:
			return fmt.Sprintf("UPDATE c SET o = %s, n = %s, b = %s WHERE id %% 3 = %d", o, n, b, id%3)
		case 3:
			// The current first row of a post, by o.
			return fmt.Sprintf("DELETE FROM c WHERE id = (SELECT id FROM c WHERE post = %d ORDER BY o, v COLLATE \"C\" LIMIT 1)", post)
		default:
			return fmt.Sprintf("DELETE FROM c WHERE id = %d", id)
		}
	},
}

// statsCase checks stddev and variance against Postgres's own, value and
// text, so that the scale of each result is compared too: EXCEPT ALL
// finds 1.0 and 1.00 equal. Numerics of several scales come and go, so
// the largest scale present, which sets the result's, changes.
var statsCase = pgCase{
	name: "stats",
	ddl:  `CREATE TABLE m (id int PRIMARY KEY, k int NOT NULL, i int, n numeric);`,
	program: `
source m = table m
view stats = m | group by k {
    si = stddev(i), vi = variance(i), sn = stddev(n), vn = variance(n),
    shown = text(stddev(n)) || "/" || text(variance(n)) || "/" || text(stddev(i))
  }
output stats to table stats index (k)
`,
	outputs: map[string]string{
		"stats": `SELECT k, stddev(i), variance(i), stddev(n), variance(n),
  stddev(n)::text || '/' || variance(n)::text || '/' || stddev(i)::text
  FROM m GROUP BY k`,
	},
	change: func(r *rand.Rand, _ time.Time) string {
		id, k := r.IntN(16), r.IntN(3)
		pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
		i := pick("1", "2", "-7", "1000000007", "0", "NULL")
		n := pick("1.5", "1.50", "2", "-0.25", "0.001", "12345.6789", "NULL")
		switch r.IntN(4) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO m VALUES (%d, %d, %s, %s) ON CONFLICT (id) DO UPDATE SET i = excluded.i, n = excluded.n", id, k, i, n)
		case 2:
			return fmt.Sprintf("UPDATE m SET n = %s WHERE id %% 4 = %d", n, id%4)
		default:
			return fmt.Sprintf("DELETE FROM m WHERE id = %d", id)
		}
	},
}

// nestedCase checks records and nested groups, which reach Postgres as
// jsonb documents, against jsonb_agg and jsonb_build_object.
var nestedCase = pgCase{
	name: "nested",
	ddl: `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE comments (id int PRIMARY KEY, post int NOT NULL, author int NOT NULL, body text, at timestamp NOT NULL, score numeric);`,
	program: `
source users = table users
source comments = table comments
view threads = comments | join users on comments.author == users.id | group by comments.post {
    rows = array_agg({author = users.name, body = comments.body, at = comments.at, score = comments.score} order by comments.at, comments.id),
    latest = last({id = comments.id, who = users.name} order by comments.at, comments.id)
  }
view pages = threads | select { post, n = cardinality(rows), head = latest.who, text = array_to_string(rows, "; ") }
view picks = threads | select { post, first = rows[1], second = rows[2].author, none = rows[99] }
view per_hour = comments | tumble at every interval "1 hour" | group by window_start, window_end { n = count() }
view sess = comments | session at gap interval "1 hour" per post | select { id, window_start, window_end }
view sliding = comments | hop at every interval "1 hour" size interval "2 hours" | group by window_start, window_end { n = count(), authors = count(distinct author) }
output threads to table threads
output pages to table pages
output picks to table picks
output per_hour to table per_hour
output sess to table sess
output sliding to table sliding
`,
	outputs: map[string]string{
		"threads": `SELECT c.post,
  jsonb_agg(jsonb_build_object('author', u.name, 'body', c.body, 'at', c.at, 'score', c.score) ORDER BY c.at, c.id),
  (array_agg(jsonb_build_object('id', c.id, 'who', u.name) ORDER BY c.at DESC, c.id DESC))[1]
  FROM comments c JOIN users u ON c.author = u.id GROUP BY c.post`,
		"picks": `SELECT c.post,
  (jsonb_agg(jsonb_build_object('author', u.name, 'body', c.body, 'at', c.at, 'score', c.score) ORDER BY c.at, c.id))->0,
  (array_agg(u.name ORDER BY c.at, c.id))[2], NULL::jsonb
  FROM comments c JOIN users u ON c.author = u.id GROUP BY c.post`,
		"sess": `WITH s AS (SELECT c.*, CASE WHEN at - lag(at) OVER (PARTITION BY post ORDER BY at, id) < interval '1 hour' THEN 0 ELSE 1 END AS new FROM comments c),
  g AS (SELECT *, sum(new) OVER (PARTITION BY post ORDER BY at, id ROWS UNBOUNDED PRECEDING) AS sid FROM s)
  SELECT id, min(at) OVER (PARTITION BY post, sid), max(at) OVER (PARTITION BY post, sid) + interval '1 hour' FROM g`,
		"per_hour": `SELECT date_bin('1 hour', at, '1970-01-01'), date_bin('1 hour', at, '1970-01-01') + interval '1 hour', count(*) FROM comments GROUP BY 1`,
		"sliding": `SELECT s, s + interval '2 hours', count(*), count(DISTINCT author) FROM comments,
  generate_series(date_bin('1 hour', at, '1970-01-01'), at - interval '2 hours', interval '-1 hour') s WHERE s + interval '2 hours' > at GROUP BY s`,
		"pages": `SELECT c.post, count(*)::int4, (array_agg(u.name ORDER BY c.at DESC, c.id DESC))[1],
  string_agg(ROW(u.name, c.body, c.at, c.score)::text, '; ' ORDER BY c.at, c.id)
  FROM comments c JOIN users u ON c.author = u.id GROUP BY c.post`,
	},
	change: func(r *rand.Rand, _ time.Time) string {
		id, user := r.IntN(12), r.IntN(4)
		pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf("INSERT INTO users VALUES (%d, %s) ON CONFLICT (id) DO UPDATE SET name = excluded.name", user, pick("'ann'", "'bob b'", "'c,y'", `'d"q'`))
		case 1, 2:
			return fmt.Sprintf("INSERT INTO comments VALUES (%d, %d, %d, %s, '2024-03-0%d %d:00', %s) ON CONFLICT (id) DO UPDATE SET body = excluded.body, at = excluded.at",
				id, r.IntN(3), user, pick("'hi'", "'a, b'", "NULL", "''", `'x\y'`), 1+r.IntN(3), r.IntN(3), pick("1.50", "2", "NULL"))
		case 3:
			return fmt.Sprintf("UPDATE comments SET author = %d WHERE id = %d", user, id)
		case 4:
			return fmt.Sprintf("DELETE FROM users WHERE id = %d", user)
		default:
			return fmt.Sprintf("DELETE FROM comments WHERE id = %d", id)
		}
	},
}

// joinsCase checks every kind of join against Postgres's LEFT, RIGHT,
// FULL and CROSS JOIN, EXISTS and NOT EXISTS: keys that are NULL, a bag
// table with duplicate rows, conditions beyond the keys, a self join, and
// deletes and key changes that make matches disappear and reappear.
var joinsCase = pgCase{
	name: "joins",
	ddl: `CREATE TABLE c (id int PRIMARY KEY, k int, name text NOT NULL);
CREATE TABLE o (k int, amt int);
CREATE TABLE s (f int NOT NULL);`,
	program: `
source c = table c
source o = table o
source s = table s
view lj = c | left join o on c.k == o.k | select { id, ok = o.k, amt }
view lc = c | left join o on c.k == o.k and o.amt > c.id | select { id, amt }
view rj = c | right join o on c.k == o.k | select { id, ok = o.k, amt }
view fj = c | full join o on c.k == o.k and (o.amt > 2 or c.name == "n1") | select { id, ck = c.k, ok = o.k, amt }
view sj = o | semi join c on o.k == c.k
view aj = o | anti join c on o.k == c.k
view sc = c | semi join o on c.k == o.k and o.amt < c.id
view ac = c | anti join o as o2 on c.k == o2.k and o2.amt != 3
view cj = c | cross join s | select { id, p = id * f }
view self = c | left join c as c2 on c.k == c2.id | select { a = c.id, b = c2.id }
view grp = c | left join o on c.k == o.k | group by c.id { n = count(o.amt), total = sum(o.amt) }
output lj to table lj
output lc to table lc
output rj to table rj
output fj to table fj
output sj to table sj
output aj to table aj
output sc to table sc
output ac to table ac
output cj to table cj
output self to table self
output grp to table grp primary key (id)
`,
	outputs: map[string]string{
		"lj":   "SELECT c.id, o.k, o.amt FROM c LEFT JOIN o ON c.k = o.k",
		"lc":   "SELECT c.id, o.amt FROM c LEFT JOIN o ON c.k = o.k AND o.amt > c.id",
		"rj":   "SELECT c.id, o.k, o.amt FROM c RIGHT JOIN o ON c.k = o.k",
		"fj":   "SELECT c.id, c.k, o.k, o.amt FROM c FULL JOIN o ON c.k = o.k AND (o.amt > 2 OR c.name = 'n1')",
		"sj":   "SELECT * FROM o WHERE EXISTS (SELECT 1 FROM c WHERE o.k = c.k)",
		"aj":   "SELECT * FROM o WHERE NOT EXISTS (SELECT 1 FROM c WHERE o.k = c.k)",
		"sc":   "SELECT * FROM c WHERE EXISTS (SELECT 1 FROM o WHERE c.k = o.k AND o.amt < c.id)",
		"ac":   "SELECT * FROM c WHERE NOT EXISTS (SELECT 1 FROM o o2 WHERE c.k = o2.k AND o2.amt <> 3)",
		"cj":   "SELECT c.id, c.id * s.f FROM c CROSS JOIN s",
		"self": "SELECT c.id, c2.id FROM c LEFT JOIN c c2 ON c.k = c2.id",
		"grp":  "SELECT c.id, count(o.amt), sum(o.amt) FROM c LEFT JOIN o ON c.k = o.k GROUP BY c.id",
	},
	change: func(r *rand.Rand, _ time.Time) string {
		orNull := func(n int) string {
			if r.IntN(5) == 0 {
				return "NULL"
			}
			return fmt.Sprint(r.IntN(n))
		}
		id, k := r.IntN(8), orNull(5)
		switch r.IntN(11) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO c VALUES (%d, %s, 'n%d') ON CONFLICT (id) DO UPDATE SET k = excluded.k", id, k, r.IntN(3))
		case 2:
			return fmt.Sprintf("UPDATE c SET k = %s WHERE id %% 3 = %d", k, id%3)
		case 3:
			return fmt.Sprintf("DELETE FROM c WHERE id = %d", id)
		case 4, 5:
			// Inserted twice now and then: o is a bag.
			row := fmt.Sprintf("(%s, %s)", k, orNull(6))
			if r.IntN(4) == 0 {
				return "INSERT INTO o VALUES " + row + ", " + row
			}
			return "INSERT INTO o VALUES " + row
		case 6:
			return fmt.Sprintf("DELETE FROM o WHERE ctid = (SELECT ctid FROM o WHERE k = %d LIMIT 1)", r.IntN(5))
		case 7:
			return fmt.Sprintf("DELETE FROM o WHERE k = %d", r.IntN(5))
		case 8:
			return fmt.Sprintf("UPDATE o SET k = %s WHERE k = %d", k, r.IntN(5))
		case 9:
			return fmt.Sprintf("INSERT INTO s VALUES (%d)", 1+r.IntN(3))
		default:
			return fmt.Sprintf("DELETE FROM s WHERE f = %d", 1+r.IntN(3))
		}
	},
}

// reachSQL is reachability by WITH RECURSIVE, the view reach computes:
// the relation r, then a query over it.
func reachSQL(query string) string {
	return `WITH RECURSIVE r(src, dst) AS (
  SELECT src, dst FROM e UNION SELECT r.src, e.dst FROM r JOIN e ON r.dst = e.src)
` + query
}

// topSetsRecursionCase checks top, except, intersect and a recursive
// view against row_number(), EXCEPT/INTERSECT [ALL] and WITH RECURSIVE.
// Its graph has few nodes, so that edges make and break cycles.
var topSetsRecursionCase = pgCase{
	name: "top_sets_recursion",
	ddl: `CREATE TABLE s (id int PRIMARY KEY, u int NOT NULL, score int, t text NOT NULL);
CREATE TABLE e (src int NOT NULL, dst int NOT NULL);`,
	program: `
source s = table s
source e = table e
view best = s | top 2 by score desc per u
view lowest = s | top 3 by score, t desc
view edge_top = e | top 2 by dst desc per src
view ex = s | select { u } | except (e | select { u = src })
view exa = s | select { u } | except all (e | select { u = dst })
view ix = s | select { u } | intersect (e | select { u = src })
view ixa = e | select { src } | intersect all (e | select { src = dst })
view reach = e | select { src, dst }
  | union (reach | join e on reach.dst == e.src | select { src = reach.src, dst = e.dst })
view reach_top = reach | top 1 by dst desc per src
view lagged = s | window by score desc per u { prev = lag(t), next = lead(id), n = row_number(), r = rank(), d = dense_rank(), a3 = avg(score) rows 2 preceding, c2 = count() rows 1 preceding }
output best to table best
output lowest to table lowest
output edge_top to table edge_top
output ex to table ex
output exa to table exa
output ix to table ix
output ixa to table ixa
output reach to table reach
output reach_top to table reach_top
output lagged to table lagged
`,
	outputs: map[string]string{
		// Ties are broken by the whole row ascending, NULLs last.
		"lagged": `SELECT id, u, score, t, lag(t) OVER w, lead(id) OVER w, row_number() OVER w, rank() OVER k, dense_rank() OVER k,
  avg(score) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), count(*) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM s
  WINDOW w AS (PARTITION BY u ORDER BY score DESC, id, u, score, t COLLATE "C"), k AS (PARTITION BY u ORDER BY score DESC)`,
		"best": `SELECT id, u, score, t FROM (SELECT s.*, row_number() OVER (PARTITION BY u
  ORDER BY score DESC, id, u, score, t COLLATE "C") AS n FROM s) x WHERE n <= 2`,
		"lowest": `SELECT id, u, score, t FROM (SELECT s.*, row_number() OVER (
  ORDER BY score, t COLLATE "C" DESC, id, u, score, t COLLATE "C") AS n FROM s) x WHERE n <= 3`,
		"edge_top": `SELECT src, dst FROM (SELECT e.*, row_number() OVER (PARTITION BY src
  ORDER BY dst DESC, src, dst) AS n FROM e) x WHERE n <= 2`,
		"ex":    "SELECT u FROM s EXCEPT SELECT src FROM e",
		"exa":   "SELECT u FROM s EXCEPT ALL SELECT dst FROM e",
		"ix":    "SELECT u FROM s INTERSECT SELECT src FROM e",
		"ixa":   "SELECT src FROM e INTERSECT ALL SELECT dst FROM e",
		"reach": reachSQL("SELECT src, dst FROM r"),
		"reach_top": reachSQL(`SELECT src, dst FROM (SELECT r.*, row_number() OVER (PARTITION BY src
  ORDER BY dst DESC, src, dst) AS n FROM r) x WHERE n <= 1`),
	},
	change: func(r *rand.Rand, _ time.Time) string {
		id, u, a, b := r.IntN(12), r.IntN(4), r.IntN(6), r.IntN(6)
		score := fmt.Sprint(r.IntN(5))
		if r.IntN(5) == 0 {
			score = "NULL"
		}
		switch r.IntN(8) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO s VALUES (%d, %d, %s, 't%d') ON CONFLICT (id) DO UPDATE SET score = excluded.score, t = excluded.t", id, u, score, r.IntN(3))
		case 2:
			return fmt.Sprintf("DELETE FROM s WHERE id = %d", id)
		case 3, 4:
			return fmt.Sprintf("INSERT INTO e VALUES (%d, %d)", a, b)
		case 5:
			return fmt.Sprintf("DELETE FROM e WHERE ctid = (SELECT ctid FROM e WHERE src = %d LIMIT 1)", a)
		case 6:
			return fmt.Sprintf("UPDATE e SET dst = %d WHERE src = %d", b, a)
		default:
			return fmt.Sprintf("DELETE FROM e WHERE dst = %d", b)
		}
	},
}

// newPG compiles src against the test schema and returns a runner whose
// own schema is dropped when the test ends.
func newPG(t testing.TB, pool *pgxpool.Pool, schema, src string) *postgres.Runner {
	t.Helper()
	ctx := context.Background()
	prog, err := compile.Compile(ctx, "test.step", src, pool)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema, BatchSize: 7}
	t.Cleanup(func() {
		if err := pg.Drop(context.Background(), false); err != nil {
			t.Errorf("drop: %v", err)
		}
	})
	return pg
}

// rowlangCase exercises the per-row language and the clock: lets,
// cases, casts, functions, text, numeric and time functions, jsonb,
// flatten, and windows relative to now(), which the test's clock moves.
var rowlangCase = pgCase{
	name: "rowlang",
	ddl: `CREATE TABLE ev (id int PRIMARY KEY, cat text NOT NULL, at timestamp NOT NULL, n int,
  price numeric(8,2), doc jsonb, tags text[]);`,
	program: `
source ev = table ev
fn label(n int4?) text = case when n > 3 then "big" when n is null then "none" else "small" end
fn share(p numeric(8,2), n int4) numeric(10,3) = p * 3 / n
view recent = ev | where at > now() - interval "7 days" and at <= now()
  | group by cat, day = date_trunc("day", at) { c = count(), total = sum(n) }
view rowfns = ev | select {
    id, l = label(n), s = share(price, n + 8),
    k = let x = n ?? 0 in x * x,
    t = upper(substring(cat, 1, 2)) || "-" || replace(cat, "a", "4"),
    j = doc ->> "k", ji = (doc -> "n")::int4,
    age = now() - at, ok = cat like "c%",
    d = extract(dow from at), w = at::date + 3
  }
view tags = ev | flatten tag = tags | group by tag { c = count() }
output recent to table recent
output rowfns to table rowfns
output tags to table tags
`,
	outputs: map[string]string{
		"recent": `SELECT cat, date_trunc('day', at), count(*), sum(n) FROM ev
  WHERE at > $1::timestamptz - interval '7 days' AND at <= $1::timestamptz GROUP BY 1, 2`,
		"rowfns": `SELECT id, CASE WHEN n > 3 THEN 'big' WHEN n IS NULL THEN 'none' ELSE 'small' END,
  (price * 3 / (n + 8))::numeric(10,3), coalesce(n, 0) * coalesce(n, 0),
  upper(substring(cat, 1, 2)) || '-' || replace(cat, 'a', '4'), doc ->> 'k', (doc -> 'n')::int,
  $1::timestamptz - at, cat like 'c%', extract(dow from at), at::date + 3 FROM ev`,
		"tags": "SELECT tag, count(*) FROM ev, unnest(tags) AS tag GROUP BY tag",
	},
	clock: true,
	change: func(r *rand.Rand, now time.Time) string {
		id := r.IntN(15)
		cats := []string{"cars", "books", "cats", "a'b"}
		switch r.IntN(5) {
		case 0, 1:
			n := fmt.Sprint(r.IntN(7))
			if r.IntN(5) == 0 {
				n = "NULL"
			}
			at := now.Add(-time.Duration(r.IntN(10*24)) * time.Hour).Add(time.Duration(r.IntN(3)) * time.Hour)
			doc := []string{`'{"k": "x", "n": 3}'`, `'{"k": null, "n": 1.5}'`, `'[1]'`, "NULL"}[r.IntN(4)]
			tags := []string{"'{a,b}'", "'{}'", "'{b,\"c d\",b}'", "NULL"}[r.IntN(4)]
			return fmt.Sprintf("INSERT INTO ev VALUES (%d, %s, '%s', %s, %d.%02d, %s, %s) ON CONFLICT (id) DO UPDATE SET n = excluded.n, at = excluded.at",
				id, quote(cats[r.IntN(len(cats))]), at.Format("2006-01-02 15:04:05"), n, r.IntN(1000), r.IntN(100), doc, tags)
		case 2:
			return fmt.Sprintf("UPDATE ev SET price = price * 2, cat = %s WHERE id %% 4 = %d", quote(cats[r.IntN(len(cats))]), id%4)
		case 3:
			return fmt.Sprintf("DELETE FROM ev WHERE id = %d", id)
		default:
			return fmt.Sprintf("UPDATE ev SET tags = tags || '{z}'::text[] WHERE id = %d", id)
		}
	},
}

// sourceBacked returns the integrals the runner made source-backed, as
// recorded in _meta, checking that none of them has a state table.
func sourceBacked(t testing.TB, pool *pgxpool.Pool, pg *postgres.Runner) []int {
	t.Helper()
	ctx := context.Background()
	var raw string
	if err := pool.QueryRow(ctx, "SELECT coalesce((SELECT value FROM "+pgx.Identifier{pg.Schema, "_meta"}.Sanitize()+" WHERE key = 'source_backed'), '[]')").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var ids []int
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{pg.Schema, fmt.Sprintf("_index_%d", id)}.Sanitize()).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("source-backed integral n%d has a state table", id)
		}
	}
	return ids
}

// diff returns how many rows the output table and the SQL disagree on.
// JIT is off: the test's tables are never analysed, so the planner
// guesses millions of rows and would compile every recursive query.
func diff(ctx context.Context, pool *pgxpool.Pool, table, query string, args ...any) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, fmt.Sprintf(
			"SELECT count(*) FROM ((TABLE %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL TABLE %s)) d",
			table, query, query, table), args...).Scan(&n)
	})
	return n, err
}

// oracleCases are the programs checked against SQL, by TestPostgresOracle
// as they run and by TestPostgresApplyOracle as they change.
func oracleCases(t *testing.T) []pgCase {
	return []pgCase{shopCase(t), operatorsCase, joinsCase, aggregatesCase, statsCase, nestedCase, topSetsRecursionCase, rowlangCase}
}

// setup gives the case a schema of its own holding its tables, and a
// random source for its changes seeded by the case's name and seed.
func (c pgCase) setup(t *testing.T, seed uint64) (pool *pgxpool.Pool, schema string, r *rand.Rand) {
	t.Helper()
	pool, schema = pgtest.Schema(t)
	if _, err := pool.Exec(context.Background(), c.ddl); err != nil {
		t.Fatal(err)
	}
	return pool, schema, rand.New(rand.NewPCG(uint64(len(c.name)), seed))
}

func TestPostgresOracle(t *testing.T) {
	for i, c := range oracleCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema, r := c.setup(t, 42)
			ctx := context.Background()
			// Rows present before installation are backfilled.
			now := time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
			for range 20 {
				if _, err := pool.Exec(ctx, c.change(r, now)); err != nil {
					t.Fatal(err)
				}
			}
			pg := newPG(t, pool, schema, c.program)
			pg.Clock = func() time.Time { return now }
			if i%2 == 1 {
				// Half the cases backfill past the memory bound: their
				// first chunks in memory, the rest against the state
				// in Postgres.
				pg.BackfillRows = 8
			}
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			backed := sourceBacked(t, pool, pg)
			t.Logf("source-backed integrals: %v", backed)
			if len(backed) == 0 && (c.name == "shop" || c.name == "joins") {
				t.Errorf("no integral of case %s reads its source", c.name)
			}
			// The most rows each output held, and the rounds that
			// changed it: an output always empty, or never changed,
			// would check nothing.
			most, changes, last := map[string]int{}, map[string]int{}, map[string]string{}
			for round := range 40 {
				if round > 0 {
					// Now and then only the clock moves.
					changes := 1 + r.IntN(6)
					if c.clock {
						now = now.Add(time.Duration(r.IntN(40)) * time.Hour)
						if r.IntN(4) == 0 {
							changes = 0
						}
					}
					for range changes {
						if _, err := pool.Exec(ctx, c.change(r, now)); err != nil {
							t.Fatal(err)
						}
					}
				}
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for table := range c.outputs {
					table = c.check(t, pool, pg, table, now, fmt.Sprintf("round %d", round))
					var rows int
					var contents string
					if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*), coalesce(string_agg(t::text, ',' ORDER BY t::text), '') FROM %s t", table)).Scan(&rows, &contents); err != nil {
						t.Fatal(err)
					}
					most[table] = max(most[table], rows)
					if contents != last[table] {
						changes[table]++
					}
					last[table] = contents
				}
			}
			for table := range most {
				t.Logf("output %s: up to %d rows, changed in %d rounds", table, most[table], changes[table])
				if most[table] == 0 || changes[table] < 3 {
					t.Errorf("output %s held at most %d rows and changed in %d rounds: the changes barely exercise it", table, most[table], changes[table])
				}
			}
		})
	}
}

// TestPostgresVersionChange checks that a program changed in any way
// that changes an output refuses the old state, naming the view, and
// rebuilds with rebuild set.
func TestPostgresVersionChange(t *testing.T) {
	tests := []struct {
		name, v1, v2, want string
	}{
		{"filter", "view big = t | where v > 2 | select { id }", "view big = t | where v > 0 | select { id }", "SELECT id FROM t WHERE v > 0"},
		// The explain text of the two is the same: only the body differs.
		{"function body", "fn big(x int4) bool = x >= 3\nview big = t | where big(v) | select { id }",
			"fn big(x int4) bool = x >= 2\nview big = t | where big(v) | select { id }", "SELECT id FROM t WHERE v >= 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, operatorsCase.ddl+"INSERT INTO t VALUES (1, 1, 5, 'a'), (2, 1, 1, 'b'), (3, 1, 2, 'c');"); err != nil {
				t.Fatal(err)
			}
			const head, tail = "source t = table t\n", "\noutput big to table big\n"
			pg := newPG(t, pool, schema, head+tt.v1+tail)
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			changed := newPG(t, pool, schema, head+tt.v2+tail)
			err := changed.Run(ctx, false, true, time.Second, nil)
			if !errors.Is(err, postgres.ErrVersion) || !strings.Contains(err.Error(), "view big changed") {
				t.Fatalf("a changed program ran against old state: %v", err)
			}
			if err := changed.Run(ctx, true, true, time.Second, nil); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			if n, err := diff(ctx, pool, "big", tt.want); err != nil || n != 0 {
				t.Fatalf("after rebuild the output differs in %d rows (%v)", n, err)
			}
		})
	}
}

// TestPostgresSecondRuntimeWaits starts a second runtime while the first
// holds the lock: it says it is waiting, takes nothing while it waits,
// and takes over when the first releases the lock.
func TestPostgresSecondRuntimeWaits(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, operatorsCase.ddl); err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, "source t = table t\nview ids = t | select { id }\noutput ids to table ids\n")
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	release, err := pg.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log := &signalWriter{want: "waiting", seen: make(chan struct{})}
	second := *pg
	second.Log = log
	got := make(chan error, 1)
	go func() {
		rel, err := second.Lock(ctx)
		if err == nil {
			rel()
		}
		got <- err
	}()
	// Wait for the second runtime to find the lock taken, not for a
	// while: on a loaded machine it may not have tried yet.
	select {
	case <-log.seen:
	case err := <-got:
		t.Fatalf("the second runtime took the lock while the first held it (%v)", err)
	case <-testwait.Expired(t):
		t.Fatalf("the second runtime never said it was waiting: %q", log.String())
	}
	select {
	case err := <-got:
		t.Fatalf("the second runtime took the lock while the first held it (%v)", err)
	default:
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-testwait.Expired(t):
		t.Fatal("the second runtime never took over")
	}
}

// signalWriter keeps what is written to it and closes seen once it holds
// want.
type signalWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.b.String(), w.want)
	w.b.Write(p)
	if !had && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestPostgresHostileNames runs a program whose tables and columns have
// names made to break naive SQL: every name reaches Postgres quoted, and
// every value as a parameter.
func TestPostgresHostileNames(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE "we""ird; DROP TABLE x" ("sel'ect" int PRIMARY KEY, "grp $1" text NOT NULL);
CREATE TABLE x (id int);
INSERT INTO "we""ird; DROP TABLE x" VALUES (1, 'a''); DROP TABLE x; --'), (2, 'b');`); err != nil {
		t.Fatal(err)
	}
	src := "source w = table `we\"ird; DROP TABLE x`\n" +
		"view counts = w | group by g = w.`grp $1` { n = count(), hi = max(w.`sel'ect`) }\n" +
		"output counts to table `out\"; DROP TABLE x; --` index (g)\n"
	pg := newPG(t, pool, schema, src)
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE "we""ird; DROP TABLE x" SET "grp $1" = 'b' WHERE "sel'ect" = 1`); err != nil {
		t.Fatal(err)
	}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	var g string
	var n, top int64
	if err := pool.QueryRow(ctx, `SELECT g, n, hi FROM "out""; DROP TABLE x; --"`).Scan(&g, &n, &top); err != nil {
		t.Fatal(err)
	}
	if g != "b" || n != 2 || top != 2 {
		t.Errorf("got (%s, %d, %d), want (b, 2, 2)", g, n, top)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('x') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Errorf("table x was dropped: names were spliced into SQL (%v)", err)
	}
}

// TestPostgresTypesRoundTrip passes a row of every supported type from a
// source table, through the change log and a view, into an output table,
// and requires the output to equal the source, value for value.
func TestPostgresTypesRoundTrip(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE every (
  id int PRIMARY KEY, b boolean, s smallint, i int, l bigint, r real, d double precision,
  n numeric(12,3), nn numeric, tx text, vc varchar(10), u uuid, dt date, ts timestamp,
  tz timestamptz, iv interval, j jsonb, by bytea, arr int[], tarr text[]);
INSERT INTO every VALUES
  (1, true, -3, 7, 9000000000, 1.5, -2.25, 12.300, 0.000100, 'héllo', 'v', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '2026-11-25', '2026-11-25 14:03:04.5', '2026-11-25 14:03:04.123456+02', '1 year 2 mons 3 days 04:05:06.5',
   '{"a": [1, 2.50, null], "b": "x"}', '\x00ff10', '{1,NULL,3}', '{"a b","c,d"}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`); err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, "source e = table every\nview copy = e\noutput copy to table copy primary key (id)\n")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE every SET n = n + 1, iv = iv - interval '1 day', tz = tz + interval '1 microsecond' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// Compared as text, so that numeric scale, float digits and time
	// precision must survive exactly.
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (
  (SELECT e::text FROM every e EXCEPT ALL SELECT c::text FROM copy c)
  UNION ALL (SELECT c::text FROM copy c EXCEPT ALL SELECT e::text FROM every e)) d`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		rows, _ := pool.Query(ctx, "SELECT 'source', e::text FROM every e UNION ALL SELECT 'output', c::text FROM copy c")
		for rows.Next() {
			var which, text string
			_ = rows.Scan(&which, &text)
			t.Logf("%s: %s", which, text)
		}
		t.Fatalf("the output differs from its source in %d rows", n)
	}
}

// TestPostgresRecordsAsJSONB passes a record holding a value of every
// supported type, and an array of such records, from a source table into
// an output table, where they are jsonb documents, and requires each to
// equal what Postgres's own to_jsonb gives for the same values.
func TestPostgresRecordsAsJSONB(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE every (
  id int PRIMARY KEY, b boolean, s smallint, i int, l bigint, r real, d double precision,
  n numeric(12,3), nn numeric, tx text, u uuid, dt date, ts timestamp,
  tz timestamptz, iv interval, j jsonb, by bytea, arr int[], tarr text[]);
INSERT INTO every VALUES
  (1, true, -3, 7, 9000000000, 1.5, -2.25, 12.300, 0.000100, 'hé "llo", \', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '2026-11-25', '2026-11-25 14:03:04.5', '2026-11-25 14:03:04.123456+02', '1 year 2 mons 3 days 04:05:06.5',
   '{"a": [1, 2.50, null], "b": "x"}', '\x00ff10', '{1,NULL,3}', '{"a b","c,d"}'),
  (2, NULL, NULL, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, false, 0, 0, 0, 0, 0, 0, 0, '', NULL, '2000-01-01', '2000-01-01', '2000-01-01 00:00+00', '0', 'null', '\x', '{}', '{}');`); err != nil {
		t.Fatal(err)
	}
	const fields = "b, s, i, l, r, d, n, nn, tx, u, dt, ts, tz, iv, j, by, arr, tarr"
	src := "source e = table every\n" +
		"view recs = e | select { id, rec = {" + fields + "} }\n" +
		"view all_recs = e | group { recs = array_agg({id, " + fields + "} order by id desc) }\n" +
		"output recs to table recs primary key (id)\noutput all_recs to table all_recs\n"
	pg := newPG(t, pool, schema, src)
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// Change a row, so that the old documents are found and retracted.
	if _, err := pool.Exec(ctx, `UPDATE every SET n = n + 1, tx = tx || '!' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// to_jsonb writes timestamptz in the session's time zone; stepping
	// writes UTC.
	if _, err := conn.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
		t.Fatal(err)
	}
	obj := func(prefix string) string {
		var parts []string
		for _, f := range strings.Split(fields, ", ") {
			parts = append(parts, fmt.Sprintf("'%s', %s%s", f, prefix, f))
		}
		return "jsonb_build_object(" + strings.Join(parts, ", ") + ")"
	}
	checks := map[string]string{
		"recs":     "SELECT id, " + obj("") + " FROM every",
		"all_recs": "SELECT jsonb_agg(jsonb_build_object('id', id) || " + obj("") + " ORDER BY id DESC) FROM every",
	}
	for table, query := range checks {
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM ((TABLE %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL TABLE %s)) d", table, query, query, table)
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			rows, _ := conn.Query(ctx, fmt.Sprintf("SELECT 'output', t::text FROM %s t UNION ALL SELECT 'to_jsonb', q::text FROM (%s) q", table, query))
			for rows.Next() {
				var which, text string
				_ = rows.Scan(&which, &text)
				t.Logf("%s: %s", which, text)
			}
			t.Errorf("output %s differs from to_jsonb in %d rows", table, n)
		}
	}
}

// TestPostgresClockTransactionTime runs a window of one second on the
// runner's own clock, the time of each step's transaction: a row inside
// the window leaves the output table as time passes, with no change to
// its source, when the runner finds the log empty and steps the clock.
func TestPostgresClockTransactionTime(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	// Rows every half second over the next ten: however late the first
	// step runs on a loaded machine (up to ten seconds), some are in its
	// window.
	if _, err := pool.Exec(ctx, `CREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL);
INSERT INTO ev SELECT k, now() + k * interval '500 milliseconds' FROM generate_series(1, 20) k;
INSERT INTO ev VALUES (0, now() - interval '1 day')`); err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, "source ev = table ev\nview fresh = ev | where at > now() - interval \"1 second\" | select { id }\noutput fresh to table fresh\n")
	pg.BatchSize = 100 // the backfill in one step
	count := func() int {
		t.Helper()
		if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM fresh").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := count()
	if first == 0 {
		t.Fatal("fresh holds no rows after the first step")
	}
	// Wait for the event the next step depends on, the database's clock
	// passing the end of the oldest fresh row's window, not for a while.
	var oldest time.Time
	if err := pool.QueryRow(ctx, "SELECT min(at) FROM ev JOIN fresh USING (id)").Scan(&oldest); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_sleep_until($1)", oldest.Add(time.Second+time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n >= first {
		t.Fatalf("fresh holds %d rows once the clock passed a row's window, %d before: a row should have left", n, first)
	}
	var steps string
	if err := pool.QueryRow(ctx, "SELECT value FROM "+pg.Schema+"._meta WHERE key = 'steps'").Scan(&steps); err != nil || steps != "2" {
		t.Errorf("steps = %s (%v), want 2: a backfill step and a step of the clock alone", steps, err)
	}
}
