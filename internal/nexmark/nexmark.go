// Package nexmark is the Nexmark benchmark for stepping: a deterministic
// generator of its three event streams (people, auctions and bids, in
// the standard proportions 1 : 3 : 46), and its queries written in
// .step from the public Flink SQL (queries/*.step), and the same
// queries in Postgres SQL (sql/*.sql). The tests check each query
// against the reference evaluator, and against Postgres running the SQL
// and stepping's Postgres runtime running the program; BenchmarkNexmark
// reports events per second per query in memory and on Postgres (see
// README.md for how to run it and the published figures beside it).
package nexmark

import (
	"embed"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/stepping-io/stepping/zset"
)

// Tables declares the three streams, as every query reads them.
const Tables = `table person (id int8, name text, email_address text, credit_card text, city text, state text, date_time timestamp, extra text)
table auction (id int8, item_name text, description text, initial_bid int8, reserve int8, date_time timestamp, expires timestamp, seller int8, category int8, extra text)
table bid (auction int8, bidder int8, price int8, channel text, url text, date_time timestamp, extra text)
`

// Lateness is the watermark's lateness of Query.Watermarked, Flink's
// Nexmark's: WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND.
const Lateness = `interval "4 seconds"`

//go:embed queries/*.step sql/*.sql
var queryFiles embed.FS

// Query is one Nexmark query: its name (q0 ...) and its program, the
// tables' declarations and the query's views.
type Query struct {
	Name    string
	Program string
	// Stamped says the query reads processing time (stamp), which the
	// reference evaluator cannot recompute from the tables.
	Stamped bool
	// SQL is the query in Postgres SQL (sql/*.sql), from the Flink SQL
	// with Postgres's date_bin, generate_series and window functions
	// for the windows: it computes the rows of the query's view of the
	// same name from the tables person, auction, bid (and q13's
	// side_input). Empty for a stamped query, which no SQL over the
	// tables can recompute.
	SQL string
}

// Watermarked returns the query with a watermark on each stream's
// date_time, Lateness behind: as Flink and Feldera run Nexmark, the
// state of a window the watermark has passed is dropped. Over events in
// time order (as Generate makes them) it computes what the query does;
// a deletion of a row older than the watermark would be dropped.
func (q Query) Watermarked() Query {
	q.Name += "/watermark"
	q.Program = strings.Replace(q.Program, Tables, strings.ReplaceAll(Tables, "extra text)\n", "extra text) watermark date_time - "+Lateness+"\n"), 1)
	return q
}

// Queries returns the queries in order of their number.
func Queries() []Query {
	entries, err := queryFiles.ReadDir("queries")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []Query
	for _, e := range entries {
		text, err := queryFiles.ReadFile(path.Join("queries", e.Name()))
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(e.Name(), ".step")
		q := Query{Name: name, Program: Tables + string(text), Stamped: strings.Contains(string(text), "| stamp ")}
		if sql, err := queryFiles.ReadFile(path.Join("sql", name+".sql")); err == nil {
			q.SQL = string(sql)
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return number(out[i].Name) < number(out[j].Name) })
	return out
}

func number(name string) int {
	var n int
	fmt.Sscanf(name, "q%d", &n)
	return n
}

// Event is one generated event: a row of person, auction or bid.
type Event struct {
	Table string
	Row   zset.Row
}

// Base is the event time of the first event.
var Base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// Generate returns n events, deterministically from seed: of every 50,
// one person, three auctions and 46 bids, their times 10 ms apart, bids
// on recent auctions by recent people, as the Nexmark generator does.
func Generate(n int, seed uint64) []Event {
	return NewGenerator(seed).Next(n)
}

// Generator makes the events of Generate a batch at a time, so that a
// long run need not hold the whole stream: the events of Next(a) then
// Next(b) are those of Generate(a+b) with the same seed.
type Generator struct {
	r                *rand.Rand
	i                int // the number of the next event
	people, auctions int64
}

// NewGenerator returns a generator of the events of Generate(n, seed).
func NewGenerator(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, 50))}
}

// Next returns the next n events.
func (g *Generator) Next(n int) []Event {
	r := g.r
	states := []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	cities := []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	channels := []string{"Google", "Facebook", "Baidu", "Apple"}
	out := make([]Event, 0, n)
	for range n {
		i := g.i
		g.i++
		at := Base.Add(time.Duration(i) * 10 * time.Millisecond)
		switch k := i % 50; {
		case k == 0 || g.people == 0:
			g.people++
			out = append(out, Event{"person", zset.Row{g.people, fmt.Sprintf("person %d", g.people), fmt.Sprintf("p%d@example.com", g.people),
				fmt.Sprintf("%04d %04d %04d %04d", r.IntN(10000), r.IntN(10000), r.IntN(10000), r.IntN(10000)),
				cities[r.IntN(len(cities))], states[r.IntN(len(states))], at, ""}})
		case k <= 3 || g.auctions == 0:
			g.auctions++
			initial := int64(1 + r.IntN(1000))
			out = append(out, Event{"auction", zset.Row{g.auctions, fmt.Sprintf("item %d", g.auctions), "an item",
				initial, initial + int64(r.IntN(1000)), at, at.Add(time.Duration(2+r.IntN(20)) * time.Second),
				1 + r.Int64N(g.people), int64(10 + r.IntN(5)), ""}})
		default:
			// Bids go mostly to the latest auctions, by the latest people.
			auction := max(1, g.auctions-int64(r.IntN(int(min(g.auctions, 20)))))
			bidder := max(1, g.people-int64(r.IntN(int(min(g.people, 50)))))
			channel := channels[r.IntN(len(channels))]
			url := fmt.Sprintf("https://www.nexmark.com/%s/item.htm?query=1&channel_id=%d", strings.ToLower(channel), r.IntN(100))
			if r.IntN(10) == 0 {
				url = fmt.Sprintf("https://www.nexmark.com/%s/%s/item.htm?query=1", strings.ToLower(channel), "sub")
			}
			out = append(out, Event{"bid", zset.Row{auction, bidder, int64(1 + r.IntN(100_000_000)), channel, url, at, ""}})
		}
	}
	return out
}
