package ir_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stepping-io/stepping/zset"
)

// TestFramesAcrossRows evaluates expressions whose calls, lets and
// user-defined functions share their evaluation's frame over rows one
// after the other, and from several goroutines at once: each call's
// arguments, each function's locals, must have slots of their own, and
// a frame one row used must not leak into the next. The table is
// t (n int4, s text).
func TestFramesAcrossRows(t *testing.T) {
	const fns = "fn wrap(x text) text = format(\"<%s>\", x)\n" +
		"fn both(a text, b text) text = let ab = a || b in format(\"%s/%s\", ab, upper(b))\n" +
		"fn maybe(x text?) text = coalesce(x, \"none\")\n"
	rows := []zset.Row{{int64(1), "ab"}, {int64(2), "Cd"}, {nil, nil}, {int64(-3), "e"}}
	tests := []struct {
		name, expr string
		want       []any // by row
	}{
		{"nested calls", `format("%s-%s|%s", upper(s), lower(s), length(s))`,
			[]any{"AB-ab|2", "CD-cd|2", "-|", "E-e|1"}},
		{"call in a call's argument list twice", `concat(upper(s), upper(lower(s)))`,
			[]any{"ABAB", "CDCD", "", "EE"}},
		{"let around calls", `let u = upper(s), l = lower(s) in format("%s%s", u, l)`,
			[]any{"ABab", "CDcd", "", "Ee"}},
		{"user function nested in itself", `wrap(wrap(s))`,
			[]any{"<<ab>>", "<<Cd>>", "<<>>", "<<e>>"}},
		{"user function with a let and calls", `both(s, lower(s)) || both(upper(s), "z")`,
			[]any{"abab/AB" + "ABz/Z", "Cdcd/CD" + "CDz/Z", "//Z", "ee/E" + "Ez/Z"}},
		{"user function beside the caller's let", `let k = s || "!" in both(upper(s), k) || k`,
			[]any{"ABab!/AB!ab!", "CDCd!/CD!Cd!", nil, "Ee!/E!e!"}},
		{"user function of a NULL", `maybe(s) || maybe(format("%s", n))`,
			[]any{"ab1", "Cd2", "none", "e-3"}},
		{"case over calls", `case when n > 1 then upper(s) when n < 0 then wrap(s) else lower(s) end`,
			[]any{"ab", "CD", nil, "<e>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "table t (n int4, s text)\n" + fns + "view v = t | select { x = " + tt.expr + " }\n"
			x := mapOf(t, lowerSrc(t, src)).Exprs[0]
			if x.FrameSize() == 0 {
				t.Fatal("the expression needs no frame")
			}
			// Each goroutine evaluates its rows with Eval, which borrows
			// frames, and with EvalIn in one frame of its own.
			eval := func(i int, frame []any) string {
				v, err := x.Eval(rows[i])
				if frame != nil {
					v, err = x.EvalIn(rows[i], frame)
				}
				if err != nil {
					return "error: " + err.Error()
				}
				if fmt.Sprint(v) != fmt.Sprint(tt.want[i]) {
					return fmt.Sprintf("row %d gave %#v, want %#v", i, v, tt.want[i])
				}
				return ""
			}
			frame := make([]any, x.FrameSize())
			for round := 0; round < 2; round++ {
				for i := range rows {
					if msg := eval(i, nil); msg != "" {
						t.Fatal(msg)
					}
					if msg := eval(i, frame); msg != "" {
						t.Fatal("in a frame lent: " + msg)
					}
				}
			}
			var wg sync.WaitGroup
			errs := make(chan string, 4)
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var frame []any
					if g%2 == 1 {
						frame = make([]any, x.FrameSize())
					}
					for k := 0; k < 200; k++ {
						if msg := eval((g+k)%len(rows), frame); msg != "" {
							errs <- msg
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for msg := range errs {
				t.Error(msg)
			}
		})
	}
}
