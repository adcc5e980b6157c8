package lockfile_test

import (
	"slices"
	"strings"
	"testing"
)

// TestUses checks the uses lines of views over t (a, b, c, d) and u (a,
// e): the columns each view's rows depend on.
func TestUses(t *testing.T) {
	const tables = "table t (a int4, b int4, c text, d int8, primary key (a))\ntable u (a int4, e text, primary key (a))\n"
	tests := []struct {
		name, view string
		want       []string
	}{
		{"select", "t | select { a, x = b + 1 }", []string{"input t (a, b)"}},
		{"where then select", "t | where c != \"x\" | select { a }", []string{"input t (a, c)"}},
		{"every column", "t | where b > 1", []string{"input t (a, b, c, d)"}},
		{"group by", "t | group by c { n = count(), s = sum(d) }", []string{"input t (c, d)"}},
		{"join", "t | join u on t.a == u.a | select { a = t.a, e }", []string{"input t (a)", "input u (a, e)"}},
		{"distinct compares rows", "t | select { a, b } | distinct", []string{"input t (a, b)"}},
		{"union", "t | select { a } | union (u | select { a })", []string{"input t (a)", "input u (a)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lock(t, "p.step", tables+"view v = "+tt.view+"\noutput v\n")
			var got []string
			for _, line := range l.Entity("view v").Lines {
				if rest, ok := strings.CutPrefix(line, "view v uses "); ok {
					got = append(got, rest)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("uses %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUsersOf checks which views a dropped column breaks: those that
// use it, then those downstream of them.
func TestUsersOf(t *testing.T) {
	l := lock(t, "p.step", base)
	tests := []struct {
		input, column    string
		direct, downward []string
	}{
		{"line_items", "qty", []string{"totals", "big"}, []string{"receipts"}},
		{"products", "price", []string{"totals"}, []string{"receipts"}},
		{"products", "nothing", nil, nil},
	}
	for _, tt := range tests {
		direct, downward := l.UsersOf(tt.input, tt.column)
		if !slices.Equal(direct, tt.direct) || !slices.Equal(downward, tt.downward) {
			t.Errorf("UsersOf(%s, %s) = %v, %v; want %v, %v", tt.input, tt.column, direct, downward, tt.direct, tt.downward)
		}
	}
}
