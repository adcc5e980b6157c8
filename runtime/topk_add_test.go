package runtime

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/zset"
)

// TestRankingAdd adds and deletes copies of rows in a ranking and reads
// it back after each change: new rows, more copies of a row held, some
// of its copies deleted, its last, and, refused, more copies than it
// holds, which must leave the ranking as it was.
func TestRankingAdd(t *testing.T) {
	tests := []struct {
		score, w int64
		want     string // the ranking after, as score×copies, or the error
	}{
		{5, 1, "5×1"},
		{7, 2, "7×2 5×1"},
		{5, 2, "7×2 5×3"},
		{5, -1, "7×2 5×2"},
		{7, -3, "negative weight -1"},
		{9, -1, "negative weight -1"},
		{7, -2, "5×2"},
		{5, -2, ""},
		{5, -1, "negative weight -1"},
		{3, 1, "3×1"},
	}
	r := NewRanking([]bool{true})
	before := ""
	for i, tc := range tests {
		row := zset.Row{tc.score}
		err := r.add(RankedRow{Sort: row, Row: row}, tc.w)
		got := ranked(r)
		switch {
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Fatalf("change %d (%d×%d): error %v, want one saying %q", i, tc.score, tc.w, err, tc.want)
		case err != nil && got != before:
			t.Fatalf("change %d (%d×%d) failed and left %q, want %q as before", i, tc.score, tc.w, got, before)
		case err == nil && got != tc.want:
			t.Fatalf("change %d (%d×%d): ranking %q, want %q", i, tc.score, tc.w, got, tc.want)
		}
		before = got
	}
}

// ranked spells a ranking of one-column rows as score×copies, in order.
func ranked(r *Ranking) string {
	var parts []string
	r.Rows.Ascend(func(it RankedRow) bool {
		parts = append(parts, fmt.Sprintf("%d×%d", it.Row[0], it.Count))
		return true
	})
	return strings.Join(parts, " ")
}
