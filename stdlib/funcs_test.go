package stdlib_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// arg is a function argument in its text form; `\N` is NULL.
type arg struct {
	text string
	typ  types.Type
}

func a(k types.Kind, text string) arg { return arg{text, types.Of(k).OrNull()} }

func txt(s string) arg      { return a(types.Text, s) }
func i4(s string) arg       { return a(types.Int4, s) }
func num(s string) arg      { return a(types.Numeric, s) }
func f8(s string) arg       { return a(types.Float8, s) }
func ts(s string) arg       { return a(types.Timestamp, s) }
func tstz(s string) arg     { return a(types.Timestamptz, s) }
func date(s string) arg     { return a(types.Date, s) }
func interval(s string) arg { return a(types.Interval, s) }
func jsonb(s string) arg    { return a(types.JSONB, s) }

// funcCase is one call and its result in text form ("ERROR" for an
// error). sql, when set, is the equivalent Postgres expression over the
// parameters $1, $2...; by default it is the call itself.
type funcCase struct {
	fn   string
	args []arg
	want string
	sql  string
}

// longText is a text longer than format's buffer on the stack.
const longText = "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"

// htmlEscapeSQL is html_escape($1) in Postgres's own functions.
const htmlEscapeSQL = `replace(replace(replace(replace(replace($1, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&#34;'), '''', '&#39;')`

var funcCases = []funcCase{
	{fn: "hop_starts", args: []arg{ts("2024-03-06 14:07:00"), interval("5 minutes"), interval("15 minutes")}, want: "{\"2024-03-06 14:05:00\",\"2024-03-06 14:00:00\",\"2024-03-06 13:55:00\"}",
		sql: "ARRAY(SELECT s FROM generate_series(date_bin($2, $1, '1970-01-01'), $1 - $3, -$2) s WHERE s + $3 > $1)"},
	{fn: "hop_starts", args: []arg{ts("2024-03-06 14:05:00"), interval("10 minutes"), interval("10 minutes")}, want: "{\"2024-03-06 14:00:00\"}",
		sql: "ARRAY(SELECT s FROM generate_series(date_bin($2, $1, '1970-01-01'), $1 - $3, -$2) s WHERE s + $3 > $1)"},
	{fn: "hop_starts", args: []arg{ts("2024-03-06 14:05:00"), interval("1 month"), interval("10 minutes")}, want: "ERROR", sql: "date_bin($2, $1, '1970-01-01')"},
	{fn: "to_char", args: []arg{ts("2024-03-06 14:05:04.567891"), txt("YYYY-MM-DD HH24:MI:SS.US")}, want: "2024-03-06 14:05:04.567891"},
	{fn: "to_char", args: []arg{ts("2024-03-06 04:05:04.5"), txt("FMDD FMMonth YYYY, HH12:MI AM (Dy) Q WW DDD D ms")}, want: "6 March 2024, 04:05 AM (Wed) 1 10 066 4 500"},
	{fn: "to_char", args: []arg{ts("2024-12-31 23:59:59"), txt("Day|Month|MON|mon|DY|dy|day|YY|YYY|Y|HH|pm|p.m.")}, want: "Tuesday  |December |DEC|dec|TUE|tue|tuesday  |24|024|4|11|pm|p.m."},
	{fn: "to_char", args: []arg{tstz("2024-03-06 14:05:04+00"), txt(`"at" HH24\h \"TZ\"`)}, want: `at 14\h "UTC"`},
	{fn: "to_char", args: []arg{date("2024-02-29"), txt("FMMM/FMDD/YYYY")}, want: "2/29/2024"},
	{fn: "to_char", args: []arg{ts("2024-03-06 00:00:00"), txt("HH12 AM MS US")}, want: "12 AM 000 000000"},
	{fn: "regexp_substr", args: []arg{txt("foo123bar45"), txt("[0-9]+")}, want: "123"},
	{fn: "regexp_substr", args: []arg{txt("foo123bar45"), txt("[0-9]+"), i4("6")}, want: "3"},
	{fn: "regexp_substr", args: []arg{txt("foo123bar45"), txt("[0-9]+"), i4("1"), i4("2")}, want: "45"},
	{fn: "regexp_substr", args: []arg{txt("foo123bar45"), txt("[0-9]+"), i4("1"), i4("3")}, want: `\N`},
	{fn: "regexp_substr", args: []arg{txt("k1=v1 k2=v2"), txt("(\\w+)=(\\w+)"), i4("1"), i4("2"), txt(""), i4("2")}, want: "v2"},
	{fn: "regexp_substr", args: []arg{txt("ABC abc"), txt("b"), i4("1"), i4("1"), txt("i")}, want: "B"},
	{fn: "regexp_substr", args: []arg{txt("héllo wörld"), txt("w."), i4("3")}, want: "wö"},
	{fn: "regexp_substr", args: []arg{txt("abc"), txt("z")}, want: `\N`},
	{fn: "regexp_substr", args: []arg{txt("abc"), txt("b"), i4("0")}, want: "ERROR"},
	{fn: "split_part", args: []arg{txt("a,b,,c"), txt(","), i4("2")}, want: "b"},
	{fn: "split_part", args: []arg{txt("a,b,,c"), txt(","), i4("3")}, want: ""},
	{fn: "split_part", args: []arg{txt("a,b,,c"), txt(","), i4("-1")}, want: "c"},
	{fn: "split_part", args: []arg{txt("a,b,,c"), txt(","), i4("-5")}, want: ""},
	{fn: "split_part", args: []arg{txt("a,b"), txt(","), i4("9")}, want: ""},
	{fn: "split_part", args: []arg{txt("ab"), txt(""), i4("1")}, want: "ab"},
	{fn: "split_part", args: []arg{txt("ab"), txt(""), i4("2")}, want: ""},
	{fn: "split_part", args: []arg{txt(""), txt(","), i4("1")}, want: ""},
	{fn: "split_part", args: []arg{txt("é--ü--x"), txt("--"), i4("2")}, want: "ü"},
	{fn: "split_part", args: []arg{txt("a,b"), txt(","), i4("0")}, want: "ERROR"},
	{fn: "split_part", args: []arg{txt(`\N`), txt(","), i4("1")}, want: `\N`},
	{fn: "date_bin", args: []arg{interval("15 minutes"), ts("2024-03-06 14:37:04.5"), ts("2024-01-01 00:00:00")}, want: "2024-03-06 14:30:00"},
	{fn: "date_bin", args: []arg{interval("15 minutes"), ts("2023-12-31 23:52:00"), ts("2024-01-01 00:00:00")}, want: "2023-12-31 23:45:00"},
	{fn: "date_bin", args: []arg{interval("1 day 2 hours"), tstz("2024-03-06 14:37:04+00"), tstz("2024-03-01 03:00:00+00")}, want: "2024-03-06 13:00:00+00"},
	{fn: "date_bin", args: []arg{interval("7 days"), ts("2024-03-06 00:00:00"), ts("2024-03-06 00:00:00")}, want: "2024-03-06 00:00:00"},
	{fn: "date_bin", args: []arg{interval("1 month"), ts("2024-03-06 14:37:04"), ts("2024-01-01 00:00:00")}, want: "ERROR"},
	{fn: "date_bin", args: []arg{interval("0 seconds"), ts("2024-03-06 14:37:04"), ts("2024-01-01 00:00:00")}, want: "ERROR"},
	{fn: "to_timestamp", args: []arg{f8("1700000000.25")}, want: "2023-11-14 22:13:20.25+00"},
	{fn: "to_timestamp", args: []arg{f8("-1.5")}, want: "1969-12-31 23:59:58.5+00"},
	{fn: "to_timestamp", args: []arg{f8("0.0000005")}, want: "1970-01-01 00:00:00+00"},
	{fn: "to_timestamp", args: []arg{f8("NaN")}, want: "ERROR"},
	{fn: "length", args: []arg{txt("héllo")}, want: "5"},
	{fn: "lower", args: []arg{txt("ÀbC")}, want: "àbc"},
	{fn: "upper", args: []arg{txt(`\N`)}, want: `\N`},
	{fn: "concat", args: []arg{txt("a"), i4(`\N`), num("1.50"), a(types.Bool, "t")}, want: "a1.50t"},
	{fn: "substring", args: []arg{txt("hello"), i4("2"), i4("3")}, want: "ell"},
	{fn: "substring", args: []arg{txt("hello"), i4("0"), i4("3")}, want: "he"},
	{fn: "substring", args: []arg{txt("hello"), i4("-5"), i4("3")}, want: ""},
	{fn: "substring", args: []arg{txt("héllo"), i4("2")}, want: "éllo"},
	{fn: "substring", args: []arg{txt("hello"), i4("9")}, want: ""},
	{fn: "substring", args: []arg{txt("hello"), i4("2"), i4("-1")}, want: "ERROR"},
	{fn: "substr", args: []arg{txt("hello"), i4("4"), i4("10")}, want: "lo"},
	{fn: "position", args: []arg{txt("lo"), txt("héllo")}, want: "4", sql: "position($1 in $2)"},
	{fn: "position", args: []arg{txt("x"), txt("hello")}, want: "0", sql: "position($1 in $2)"},
	{fn: "position", args: []arg{txt(""), txt("hello")}, want: "1", sql: "position($1 in $2)"},
	{fn: "strpos", args: []arg{txt("héllo"), txt("l")}, want: "3"},
	{fn: "replace", args: []arg{txt("a-b-c"), txt("-"), txt("+")}, want: "a+b+c"},
	{fn: "replace", args: []arg{txt("abc"), txt(""), txt("x")}, want: "abc"},
	{fn: "trim", args: []arg{txt("  a b  ")}, want: "a b"},
	{fn: "btrim", args: []arg{txt("xxaxyx"), txt("xy")}, want: "a"},
	{fn: "ltrim", args: []arg{txt("  a  ")}, want: "a  "},
	{fn: "rtrim", args: []arg{txt("a.,."), txt(".,")}, want: "a"},
	{fn: "starts_with", args: []arg{txt("hello"), txt("he")}, want: "t"},
	// html_escape has no Postgres function; its SQL is the chain of
	// replace calls it stands for, & first.
	{fn: "html_escape", args: []arg{txt(`<b class="x">Tom & Jerry's</b>`)}, want: "&lt;b class=&#34;x&#34;&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;", sql: htmlEscapeSQL},
	{fn: "html_escape", args: []arg{txt("&amp; é")}, want: "&amp;amp; é", sql: htmlEscapeSQL},
	{fn: "html_escape", args: []arg{txt("")}, want: "", sql: htmlEscapeSQL},
	{fn: "html_escape", args: []arg{txt(`\N`)}, want: `\N`, sql: htmlEscapeSQL},
	{fn: "string_to_array", args: []arg{txt("a,b,,c"), txt(",")}, want: "{a,b,\"\",c}", sql: "string_to_array($1, $2)"},
	{fn: "string_to_array", args: []arg{txt("abc"), txt(`\N`)}, want: "{a,b,c}"},
	{fn: "string_to_array", args: []arg{txt(""), txt(",")}, want: "{}"},
	{fn: "regexp_like", args: []arg{txt("Hello"), txt("^h.l+o$"), txt("i")}, want: "t"},
	{fn: "regexp_like", args: []arg{txt("Hello"), txt("^h")}, want: "f"},
	{fn: "regexp_match", args: []arg{txt("foo123bar45"), txt("[0-9]+")}, want: "{123}"},
	{fn: "regexp_match", args: []arg{txt("key=val"), txt("(\\w+)=(\\w+)(x)?")}, want: "{key,val,NULL}"},
	{fn: "regexp_match", args: []arg{txt("abc"), txt("z")}, want: `\N`},
	{fn: "regexp_replace", args: []arg{txt("a1b22c"), txt("[0-9]+"), txt("#")}, want: "a#b22c"},
	{fn: "regexp_replace", args: []arg{txt("a1b22c"), txt("([0-9]+)"), txt("<\\1\\&>"), txt("g")}, want: "a<11>b<2222>c"},
	{fn: "regexp_replace", args: []arg{txt("abc"), txt("("), txt("x")}, want: "ERROR"},
	{fn: "abs", args: []arg{num("-1.50")}, want: "1.50"},
	{fn: "abs", args: []arg{i4("-2147483648")}, want: "ERROR"},
	{fn: "round", args: []arg{num("2.5")}, want: "3"},
	{fn: "round", args: []arg{num("-2.5")}, want: "-3"},
	{fn: "round", args: []arg{num("1.2"), i4("3")}, want: "1.200"},
	{fn: "round", args: []arg{num("1234.5"), i4("-2")}, want: "1200"},
	{fn: "round", args: []arg{f8("2.5")}, want: "2"},
	{fn: "round", args: []arg{f8("3.5")}, want: "4"},
	{fn: "round", args: []arg{i4("7")}, want: "7"},
	{fn: "round", args: []arg{i4("7"), i4("1")}, want: "7.0"},
	{fn: "trunc", args: []arg{num("-2.789"), i4("2")}, want: "-2.78"},
	{fn: "trunc", args: []arg{num("1.5"), i4("2")}, want: "1.50"},
	{fn: "trunc", args: []arg{num("1289.5"), i4("-2")}, want: "1200"},
	{fn: "trunc", args: []arg{f8("-2.7")}, want: "-2"},
	{fn: "floor", args: []arg{num("-1.5")}, want: "-2"},
	{fn: "floor", args: []arg{f8("1.5")}, want: "1"},
	{fn: "ceil", args: []arg{num("1.01")}, want: "2"},
	{fn: "ceiling", args: []arg{i4("3")}, want: "3"},
	{fn: "ceil", args: []arg{f8("-0.5")}, want: "-0"},
	{fn: "date_trunc", args: []arg{txt("hour"), ts("2024-03-06 14:05:04.567891")}, want: "2024-03-06 14:00:00"},
	{fn: "date_trunc", args: []arg{txt("Week"), tstz("2024-03-06 14:05:04+00")}, want: "2024-03-04 00:00:00+00"},
	{fn: "date_trunc", args: []arg{txt("quarter"), ts("2024-11-06 14:05:04")}, want: "2024-10-01 00:00:00"},
	{fn: "date_trunc", args: []arg{txt("century"), ts("2000-12-31 23:00")}, want: "1901-01-01 00:00:00"},
	{fn: "date_trunc", args: []arg{txt("millennium"), ts("2024-03-06")}, want: "2001-01-01 00:00:00"},
	{fn: "date_trunc", args: []arg{txt("decade"), ts("2029-03-06")}, want: "2020-01-01 00:00:00"},
	{fn: "date_trunc", args: []arg{txt("milliseconds"), ts("2024-03-06 14:05:04.567891")}, want: "2024-03-06 14:05:04.567"},
	{fn: "date_trunc", args: []arg{txt("day"), date("2024-03-06")}, want: "2024-03-06 00:00:00+00"},
	{fn: "date_trunc", args: []arg{txt("fortnight"), ts("2024-03-06")}, want: "ERROR"},
	{fn: "extract", args: []arg{txt("second"), ts("2024-03-01 14:05:04.5")}, want: "4.500000", sql: "extract(second from $2)"},
	{fn: "extract", args: []arg{txt("epoch"), ts("2024-03-01 14:05:04.5")}, want: "1709301904.500000", sql: "extract(epoch from $2)"},
	{fn: "extract", args: []arg{txt("epoch"), date("2024-03-03")}, want: "1709424000", sql: "extract(epoch from $2)"},
	{fn: "extract", args: []arg{txt("dow"), date("2024-03-03")}, want: "0", sql: "extract(dow from $2)"},
	{fn: "extract", args: []arg{txt("isodow"), date("2024-03-03")}, want: "7", sql: "extract(isodow from $2)"},
	{fn: "extract", args: []arg{txt("week"), ts("1999-01-01")}, want: "53", sql: "extract(week from $2)"},
	{fn: "extract", args: []arg{txt("isoyear"), ts("1999-01-01")}, want: "1998", sql: "extract(isoyear from $2)"},
	{fn: "extract", args: []arg{txt("century"), tstz("2000-06-01 00:00+02")}, want: "20", sql: "extract(century from $2)"},
	{fn: "extract", args: []arg{txt("milliseconds"), ts("2024-03-01 14:05:04.5")}, want: "4500.000", sql: "extract(milliseconds from $2)"},
	{fn: "extract", args: []arg{txt("hour"), interval("1 year 14 mons 40 days 25:01:04.5")}, want: "25", sql: "extract(hour from $2)"},
	{fn: "extract", args: []arg{txt("epoch"), interval("1 year 14 mons 40 days 25:01:04.5")}, want: "71845264.500000", sql: "extract(epoch from $2)"},
	{fn: "extract", args: []arg{txt("month"), interval("-1 year -14 mons")}, want: "-2", sql: "extract(month from $2)"},
	{fn: "extract", args: []arg{txt("hour"), date("2024-03-03")}, want: "ERROR", sql: "extract(hour from $2)"},
	{fn: "date_part", args: []arg{txt("second"), ts("2024-03-01 14:05:04.5")}, want: "4.5"},
	{fn: "date_part", args: []arg{txt("doy"), tstz("2024-03-01 14:05:04.5+00")}, want: "61"},
	{fn: "jsonb_typeof", args: []arg{jsonb(`{"a": [1]}`)}, want: "object"},
	{fn: "jsonb_typeof", args: []arg{jsonb(`null`)}, want: "null"},
	{fn: "jsonb_array_length", args: []arg{jsonb(`[1, [2, 3], {}]`)}, want: "3"},
	{fn: "jsonb_array_length", args: []arg{jsonb(`{"a": 1}`)}, want: "ERROR"},
	{fn: "coalesce", args: []arg{i4(`\N`), num("1.5")}, want: "1.5"},
	{fn: "format", args: []arg{txt("%s-%s%%"), i4("1"), txt(`\N`)}, want: "1-%"},
	{fn: "format", args: []arg{txt("no specifier")}, want: "no specifier"},
	{fn: "format", args: []arg{txt("%%%s%s%%"), num("12.50"), i4("-3")}, want: "%12.50-3%"},
	{fn: "format", args: []arg{txt("Basket id: %s total: $%s"), i4("7"), num("1234.5")}, want: "Basket id: 7 total: $1234.5"},
	{fn: "format", args: []arg{txt("%s"), txt(`\N`)}, want: ""},
	{fn: "format", args: []arg{txt(`\N`), i4("1")}, want: `\N`},
	{fn: "format", args: []arg{txt("<%s|%s>"), txt(longText), txt(longText)}, want: "<" + longText + "|" + longText + ">"},
	{fn: "format", args: []arg{txt("50%")}, want: "ERROR"},
	{fn: "format", args: []arg{txt("%d"), i4("1")}, want: "ERROR"},
	{fn: "format", args: []arg{txt("%s and %s"), i4("1")}, want: "ERROR"},
}

// opCases are operators and casts, evaluated through stdlib.Arith,
// stdlib.Like, stdlib.JSONArrow and stdlib.Cast as the circuit does. A
// cast's fn is "::" followed by the target type.
var opCases = []funcCase{
	{fn: "/", args: []arg{num("1"), num("3")}, want: "0.33333333333333333333"},
	{fn: "/", args: []arg{num("10"), num("4")}, want: "2.5000000000000000"},
	{fn: "/", args: []arg{num("12345"), num("0.001")}, want: "12345000.000000000000"},
	{fn: "/", args: []arg{num("0.0001"), num("7")}, want: "0.000014285714285714285714"},
	{fn: "/", args: []arg{num("1.000000000000000000001"), num("3")}, want: "0.333333333333333333334"},
	{fn: "/", args: []arg{i4("7"), num("2")}, want: "3.5000000000000000"},
	{fn: "%", args: []arg{num("7.5"), num("2")}, want: "1.5"},
	{fn: "%", args: []arg{num("-7"), num("2.25")}, want: "-0.25"},
	{fn: "*", args: []arg{num("1.50"), num("2.0")}, want: "3.000"},
	{fn: "+", args: []arg{ts("2024-01-31 10:00"), interval("1 mon 1 day 01:00")}, want: "2024-03-01 11:00:00"},
	{fn: "+", args: []arg{tstz("2024-02-29 00:00+00"), interval("1 year")}, want: "2025-02-28 00:00:00+00"},
	{fn: "-", args: []arg{ts("2024-03-31"), interval("1 mon")}, want: "2024-02-29 00:00:00"},
	{fn: "+", args: []arg{date("2024-02-28"), i4("2")}, want: "2024-03-01"},
	{fn: "-", args: []arg{date("2024-03-01"), i4("1")}, want: "2024-02-29"},
	{fn: "+", args: []arg{date("2024-02-28"), interval("36 hours")}, want: "2024-02-29 12:00:00"},
	{fn: "-", args: []arg{date("2024-03-01"), date("2024-02-01")}, want: "29"},
	{fn: "-", args: []arg{ts("2024-01-03 01:00"), ts("2024-01-01")}, want: "2 days 01:00:00"},
	{fn: "-", args: []arg{tstz("2024-01-01 00:00+00"), tstz("2024-01-03 01:00:00.5+00")}, want: "-2 days -01:00:00.5"},
	{fn: "-", args: []arg{ts("2024-01-03"), date("2024-01-01")}, want: "2 days"},
	{fn: "+", args: []arg{interval("1 mon 2 days"), interval("-3 days 01:00")}, want: "1 mon -1 days +01:00:00"},
	{fn: "*", args: []arg{interval("1 mon 2 days 00:00:01.5"), i4("3")}, want: "3 mons 6 days 00:00:04.5"},
	{fn: "*", args: []arg{i4("-2"), interval("1 day")}, want: "-2 days"},
	{fn: "like", args: []arg{txt("hello"), txt("h%l_o")}, want: "t"},
	{fn: "like", args: []arg{txt("a%b"), txt(`a\%b`)}, want: "t"},
	{fn: "like", args: []arg{txt("axb"), txt(`a\%b`)}, want: "f"},
	{fn: "like", args: []arg{txt("Hello"), txt("h%")}, want: "f"},
	{fn: "ilike", args: []arg{txt("Hello"), txt("h%")}, want: "t"},
	{fn: "not like", args: []arg{txt("a.c"), txt("a_c")}, want: "f"},
	{fn: "like", args: []arg{txt("multi\nline"), txt("multi_line")}, want: "t"},
	{fn: "like", args: []arg{txt("xy"), txt(`x\`)}, want: "ERROR"},
	{fn: "->", args: []arg{jsonb(`{"a": {"b": [1, 2.50]}}`), txt("a")}, want: `{"b": [1, 2.50]}`},
	{fn: "->", args: []arg{jsonb(`[1, "x", null]`), i4("-2")}, want: `"x"`},
	{fn: "->", args: []arg{jsonb(`[1, "x", null]`), i4("2")}, want: `null`},
	{fn: "->", args: []arg{jsonb(`[1]`), txt("a")}, want: `\N`},
	{fn: "->>", args: []arg{jsonb(`{"a": "x y", "b": null, "c": [true]}`), txt("a")}, want: "x y"},
	{fn: "->>", args: []arg{jsonb(`{"a": "x y", "b": null, "c": [true]}`), txt("b")}, want: `\N`},
	{fn: "->>", args: []arg{jsonb(`{"a": "x y", "b": null, "c": [true]}`), txt("c")}, want: "[true]"},
	{fn: "->>", args: []arg{jsonb(`{"a": 1.50}`), txt("a")}, want: "1.50"},
	{fn: "::int4", args: []arg{txt(" 42 ")}, want: "42"},
	{fn: "::int4", args: []arg{txt("4x")}, want: "ERROR"},
	{fn: "::int2", args: []arg{i4("40000")}, want: "ERROR"},
	{fn: "::int4", args: []arg{num("-2.5")}, want: "-3"},
	{fn: "::int4", args: []arg{f8("2.5")}, want: "2"},
	{fn: "::int8", args: []arg{f8("3.5")}, want: "4"},
	{fn: "::numeric", args: []arg{f8("0.1")}, want: "0.1"},
	{fn: "::numeric", args: []arg{f8("123456789012345678")}, want: "123456789012346000"},
	{fn: "::numeric(5,2)", args: []arg{num("1.005")}, want: "1.01"},
	{fn: "::numeric(5,2)", args: []arg{i4("12")}, want: "12.00"},
	{fn: "::numeric(5,2)", args: []arg{txt("1000")}, want: "ERROR"},
	{fn: "::numeric(4,1)", args: []arg{f8("2.25")}, want: "2.3"},
	{fn: "::float8", args: []arg{num("1.10")}, want: "1.1"},
	{fn: "::float4", args: []arg{f8("0.1")}, want: "0.1"},
	{fn: "::float4", args: []arg{i4("1234567")}, want: "1.234567e+06"},
	{fn: "::float8", args: []arg{i4("1234567")}, want: "1234567"},
	{fn: "::float8", args: []arg{num("100000000000000")}, want: "100000000000000"},
	{fn: "::float8", args: []arg{num("1000000000000000")}, want: "1e+15"},
	{fn: "::float8", args: []arg{num("0.00001")}, want: "1e-05"},
	{fn: "::text", args: []arg{a(types.Bool, "t")}, want: "true"},
	{fn: "::text", args: []arg{num("1.50")}, want: "1.50"},
	{fn: "::bool", args: []arg{txt("yes")}, want: "t"},
	{fn: "::bool", args: []arg{i4("0")}, want: "f"},
	{fn: "::int4", args: []arg{a(types.Bool, "t")}, want: "1"},
	{fn: "::date", args: []arg{ts("2024-03-01 23:59")}, want: "2024-03-01"},
	{fn: "::timestamptz", args: []arg{date("2024-03-01")}, want: "2024-03-01 00:00:00+00"},
	{fn: "::timestamp", args: []arg{tstz("2024-03-01 10:00+02")}, want: "2024-03-01 08:00:00"},
	{fn: "::timestamp", args: []arg{txt("2024-03-01 10:00+02")}, want: "2024-03-01 10:00:00"},
	{fn: "::timestamptz", args: []arg{txt("2024-03-01 10:00+02")}, want: "2024-03-01 08:00:00+00"},
	{fn: "::date", args: []arg{txt("2024-02-30")}, want: "ERROR"},
	{fn: "::interval", args: []arg{txt("1.5 days")}, want: "1 day 12:00:00"},
	{fn: "::uuid", args: []arg{txt("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")}, want: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{fn: "::uuid", args: []arg{txt("a0eebc99")}, want: "ERROR"},
	{fn: "::jsonb", args: []arg{txt(`{"b":1,"a":[]}`)}, want: `{"a": [], "b": 1}`},
	{fn: "::int4", args: []arg{jsonb("1.5")}, want: "2"},
	{fn: "::numeric", args: []arg{jsonb("1.50")}, want: "1.50"},
	{fn: "::bool", args: []arg{jsonb("true")}, want: "t"},
	{fn: "::int4", args: []arg{jsonb(`"1"`)}, want: "ERROR"},
	{fn: "::text", args: []arg{jsonb(`"x"`)}, want: `"x"`},
}

// call evaluates a case through the function's Check and BindStrict, as
// the checker and the circuit do.
func call(c funcCase) (string, error) {
	if !isFunc(c.fn) {
		return callOp(c)
	}
	f, ok := stdlib.Funcs()[c.fn]
	if !ok {
		return "", fmt.Errorf("no function %s", c.fn)
	}
	argTypes := make([]types.Type, len(c.args))
	vals := make([]any, len(c.args))
	for i, a := range c.args {
		argTypes[i] = a.typ
		if a.text == `\N` {
			continue
		}
		v, err := types.Parse(a.text, a.typ)
		if err != nil {
			return "", fmt.Errorf("argument %d: %w", i+1, err)
		}
		vals[i] = v
	}
	t, err := f.Check(argTypes)
	if err != nil {
		return "", fmt.Errorf("check: %w", err)
	}
	got, err := callBound(f.BindStrict(argTypes), vals, t)
	if err != nil {
		return "", err
	}
	// The same call with every argument a constant of the program, as
	// when it is written with literals: a function reading its constants
	// once (BindConst), or checking them when the program is (Validate),
	// must give the same result.
	consts := slices.Clone(vals)
	if f.Validate != nil {
		if err := f.Validate(consts, argTypes); err != nil {
			if got != "ERROR" {
				return "", fmt.Errorf("the constants were refused (%v), but the call gave %s", err, got)
			}
			return got, nil
		}
	}
	if again, err := callBound(f.BindWith(consts, argTypes), vals, t); err != nil || again != got {
		return "", fmt.Errorf("with its arguments constants the call gave %s (%v), not %s", again, err, got)
	}
	return got, nil
}

// callBound calls impl, and checks that its result does not change when
// the argument slice is reused.
func callBound(impl stdlib.Impl, vals []any, t types.Type) (string, error) {
	vals = slices.Clone(vals)
	v, err := impl(vals)
	if err != nil {
		return "ERROR", nil
	}
	if v == nil {
		return `\N`, nil
	}
	got := types.Format(v, t)
	// The compiled expression passes the same slots of its frame to
	// every call: a result made of the argument slice would change with
	// the next row's arguments.
	clear(vals)
	if again := types.Format(v, t); again != got {
		return "", fmt.Errorf("the result %s became %s when the argument slice was reused", got, again)
	}
	return got, nil
}

func isFunc(name string) bool {
	return name[0] >= 'a' && name[0] <= 'z' && !strings.HasSuffix(name, " like") && !strings.HasSuffix(name, " ilike") && name != "like" && name != "ilike"
}

// callOp evaluates an operator or cast case.
func callOp(c funcCase) (string, error) {
	vals := make([]any, len(c.args))
	for i, a := range c.args {
		if a.text == `\N` {
			continue
		}
		v, err := types.Parse(a.text, a.typ)
		if err != nil {
			return "", fmt.Errorf("argument %d: %w", i+1, err)
		}
		vals[i] = v
	}
	var t types.Type
	var v any
	var err error
	op, isOp := lang.LookupBinary(c.fn)
	switch {
	case strings.HasPrefix(c.fn, "::"):
		if t, err = castType(c.fn[2:]); err != nil {
			return "", err
		}
		var f stdlib.CastFunc
		if f, err = stdlib.Cast(c.args[0].typ, t); err != nil {
			return "", err
		}
		v, err = f(vals[0])
	case !isOp:
		return "", fmt.Errorf("no operator is spelled %q", c.fn)
	case op == lang.Like || op == lang.ILike || op == lang.NotLike || op == lang.NotILike:
		t = types.Of(types.Bool)
		v, err = stdlib.Like(op)(vals[0], vals[1])
	case op == lang.Arrow || op == lang.ArrowText:
		var f func(x, y any) (any, error)
		if t, f, err = stdlib.JSONArrow(op, c.args[0].typ, c.args[1].typ); err != nil {
			return "", err
		}
		v, err = f(vals[0], vals[1])
	default:
		var f func(x, y any) (any, error)
		if t, f, err = stdlib.Arith(op, c.args[0].typ, c.args[1].typ); err != nil {
			return "", err
		}
		v, err = f(vals[0], vals[1])
	}
	switch {
	case err != nil:
		return "ERROR", nil
	case v == nil:
		return `\N`, nil
	}
	return types.Format(v, t), nil
}

// castType reads a type name with modifiers, as numeric(5,2).
func castType(s string) (types.Type, error) {
	name, mods, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
	k, ok := types.LookupKind(name)
	if !ok {
		return types.Type{}, fmt.Errorf("unknown type %s", name)
	}
	t := types.Of(k)
	if mods != "" {
		if _, err := fmt.Sscanf(mods, "%d,%d", &t.Precision, &t.Scale); err != nil {
			return types.Type{}, err
		}
	}
	return t, nil
}

// TestFuncs calls every case and compares with the result Postgres gives.
func TestFuncs(t *testing.T) {
	for _, c := range append(funcCases, opCases...) {
		got, err := call(c)
		if err != nil {
			t.Errorf("%s%s: %v", c.fn, argText(c.args), err)
			continue
		}
		if got != c.want {
			t.Errorf("%s%s = %s, want %s", c.fn, argText(c.args), got, c.want)
		}
	}
}

// TestFuncsPostgres evaluates every case in Postgres (with TimeZone UTC)
// and requires Postgres's result to be the case's expected result: the
// cases' expectations are Postgres's, not ours.
func TestFuncsPostgres(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	for _, c := range append(funcCases, opCases...) {
		expr := c.sql
		switch {
		case expr != "":
		case strings.HasPrefix(c.fn, "::"):
			expr = "$1" + c.fn
		case !isFunc(c.fn):
			expr = "$1 " + c.fn + " $2"
		default:
			var ps []string
			for i := range c.args {
				ps = append(ps, fmt.Sprintf("$%d", i+1))
			}
			expr = c.fn + "(" + strings.Join(ps, ", ") + ")"
		}
		// The parameters come typed through a subquery, so that a case's
		// SQL need not use every one; the result is printed by format,
		// which uses each type's output function as the cases do.
		var cols, names []string
		params := make([]any, len(c.args))
		for i, a := range c.args {
			expr = strings.ReplaceAll(expr, fmt.Sprintf("$%d", i+1), fmt.Sprintf("p.a%d", i+1))
			cols = append(cols, fmt.Sprintf("$%d::%s", i+1, pgType(a.typ)))
			names = append(names, fmt.Sprintf("a%d", i+1))
			if a.text != `\N` {
				params[i] = a.text
			}
		}
		query := fmt.Sprintf(`SELECT CASE WHEN (%s) IS NULL THEN '\N' ELSE format('%%s', %s) END FROM (SELECT %s) AS p(%s)`,
			expr, expr, strings.Join(cols, ", "), strings.Join(names, ", "))
		var got *string
		err := pool.QueryRow(ctx, query, params...).Scan(&got)
		switch {
		case err != nil && c.want != "ERROR":
			t.Errorf("Postgres: %s: %v", expr, err)
		case err == nil && c.want == "ERROR":
			t.Errorf("Postgres: %s = %v, want an error", expr, deref(got))
		case err == nil && deref(got) != c.want:
			t.Errorf("Postgres: %s = %s, the case wants %s", expr, deref(got), c.want)
		}
	}
}

func pgType(t types.Type) string {
	if t.Kind == types.Float8 {
		return "float8"
	}
	return t.Kind.String()
}

func deref(s *string) string {
	if s == nil {
		return `\N`
	}
	return *s
}

func argText(args []arg) string {
	var s []string
	for _, a := range args {
		s = append(s, a.text+"::"+a.typ.Kind.String())
	}
	return "(" + strings.Join(s, ", ") + ")"
}
