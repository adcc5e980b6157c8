package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/shopbench"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// programChange is an edit of the shop program whose apply is timed.
type programChange struct {
	name      string
	old, repl string // the text replaced, and its replacement
}

// programChanges are the edits measured: a view with nothing
// downstream, the view everything reads, and a view added.
var programChanges = []programChange{
	{"receipts' format changed", `format("Basket id: %s total: $%s", basket_id, total)`, `format("Basket %s: $%s", basket_id, total)`},
	{"basket_totals gains a column", "items = count()", "items = count(),\n      units = sum(line_items.qty)"},
	{"a view added over basket_totals", "output receipts", "view big_baskets = basket_totals | where total > 1000\noutput big_baskets\noutput receipts"},
}

// measureApply times applying each program change to the running shop
// program against a full --rebuild from the same program to the same
// change, in the same run; the original is applied back, untimed, after
// each.
func measureApply(ctx context.Context, spool *pgxpool.Pool, progSchema, src string, r *pgRun) error {
	runner := func(text string, apply bool) (*postgres.Runner, error) {
		prog, err := compile.Compile(ctx, "shop.step", text, spool)
		if err != nil {
			return nil, err
		}
		return &postgres.Runner{Pool: spool, Circuit: prog.Circuit, Schema: progSchema, BatchSize: 50_000, Apply: apply, DropRemoved: true}, nil
	}
	setup := func(text string, apply, rebuild bool) (time.Duration, error) {
		pg, err := runner(text, apply)
		if err != nil {
			return 0, err
		}
		return shopbench.Timed(func() error {
			if err := pg.Setup(ctx, rebuild); err != nil {
				return err
			}
			_, err := pg.ApplyPending(ctx, nil)
			return err
		})
	}
	fmt.Println("\nApplying a change of program (stepq run --db --apply) against dropping the state and building it all again (--rebuild):")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "change\tapply\t--rebuild\trebuild/apply\t")
	for _, ch := range programChanges {
		if !strings.Contains(src, ch.old) {
			return fmt.Errorf("the shop example no longer holds %q", ch.old)
		}
		changed := strings.Replace(src, ch.old, ch.repl, 1)
		applied, err := setup(changed, true, false)
		if err != nil {
			return fmt.Errorf("%s: apply: %w", ch.name, err)
		}
		mismatched, err := r.mismatched("basket_totals", "line_items", "products")
		if err != nil {
			return err
		}
		if mismatched > 0 {
			return fmt.Errorf("%s: %d rows of basket_totals differ from recomputation after the apply", ch.name, mismatched)
		}
		// Back to the original program, then the same change by
		// --rebuild, then back again for the next change.
		if _, err := setup(src, true, false); err != nil {
			return fmt.Errorf("%s: applying the original back: %w", ch.name, err)
		}
		rebuilt, err := setup(changed, false, true)
		if err != nil {
			return fmt.Errorf("%s: rebuild: %w", ch.name, err)
		}
		if _, err := setup(src, true, false); err != nil {
			return fmt.Errorf("%s: applying the original back: %w", ch.name, err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fx\t\n", ch.name, applied.Round(time.Millisecond), rebuilt.Round(time.Millisecond), ratio(rebuilt, applied))
	}
	return tw.Flush()
}
