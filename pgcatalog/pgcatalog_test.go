package pgcatalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/pgcatalog"
	"github.com/stepping-io/stepping/typecheck"
)

const catalogDDL = `
CREATE TABLE orders (
  id        bigint PRIMARY KEY,
  customer  text NOT NULL,
  total     numeric(12,2) NOT NULL,
  note      varchar(40),
  placed    timestamptz NOT NULL,
  day       date,
  tags      text[],
  payload   jsonb,
  ref       uuid,
  ratio     double precision,
  small     smallint,
  flag      boolean NOT NULL DEFAULT false,
  span      interval,
  blob      bytea
);
CREATE TABLE odd (id int PRIMARY KEY, pos point);
`

func TestCatalogSources(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, catalogDDL); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		want      string // expected columns of view v, or the expected errors
	}{
		{
			name: "all types from the catalog",
			src:  "source o = table orders\nview v = o\n",
			want: "id int8, customer text, total numeric(12,2), note text?, placed timestamptz, day date?, tags text[]?, payload jsonb?, ref uuid?, ratio float8?, small int2?, flag bool, span interval?, blob bytea?",
		},
		{
			name: "declared columns agree",
			src:  "source o = table orders (id int8, total numeric(12,2))\nview v = o\n",
			want: "id int8, total numeric(12,2)",
		},
		{
			name: "declared type disagrees, column missing, table missing",
			src:  "source o = table orders (id int4, totl numeric(12,2))\nsource p = table nowhere\nview v = o\n",
			want: "2:29: column id is declared int4 but is int8 in the database (declare it as int8)\n" +
				"2:35: table orders in the database has no column totl (did you mean total?)\n" +
				"3:18: the database has no table nowhere",
		},
		{
			name: "unsupported type",
			src:  "source x = table odd\nview v = x\n",
			want: "2:18: column pos of odd has type point, which stepping does not support yet (declare the columns you need, leaving this one out)",
		},
		{
			name: "unsupported column left out",
			src:  "source x = table odd (id int4)\nview v = x\n",
			want: "id int4",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "# test\n" + tt.src
			f, err := lang.Parse("t.step", src)
			if err != nil {
				t.Fatal(err)
			}
			cat, err := pgcatalog.Load(ctx, pool, f)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := typecheck.Check(f, &typecheck.Config{Catalog: cat})
			var got string
			if err != nil {
				var lines []string
				for _, e := range err.(lang.ErrorList) {
					lines = append(lines, strings.TrimPrefix(e.Error(), "t.step:"))
				}
				got = strings.Join(lines, "\n")
			} else {
				var cols []string
				for _, c := range prog.View("v").Columns {
					cols = append(cols, c.Name+" "+c.Type.String())
				}
				got = strings.Join(cols, ", ")
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
