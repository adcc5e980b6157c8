// Command embed shows stepping embedded in a Go program: it compiles a
// ledger program, keeps balances in memory as transfers arrive, reads
// them into structs, looks one up by key, and follows a view's changes
// through a subscription.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"log"
	"os"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
)

//go:embed ledger.step
var ledger string

// Account is a row of the accounts table.
type Account struct {
	ID    int64  `stepping:"id"`
	Owner string `stepping:"owner"`
}

// Transfer is a row of the transfers table.
type Transfer struct {
	ID     int64           `stepping:"id"`
	From   int64           `stepping:"from_acc"`
	To     int64           `stepping:"to_acc"`
	Amount decimal.Decimal `stepping:"amount"`
}

// Balance is a row of the balances view.
type Balance struct {
	ID      int64
	Owner   string
	Balance decimal.Decimal
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	prog, err := stepping.Compile("ledger.step", ledger)
	if err != nil {
		for _, d := range stepping.Diagnostics(err) {
			fmt.Fprint(os.Stderr, d.Format(ledger))
		}
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng := prog.OpenMemory()
	defer eng.Close()

	// Follow the overdrawn accounts from now on.
	sub, err := eng.Subscribe(ctx, "overdrawn")
	if err != nil {
		return err
	}

	amount := decimal.RequireFromString
	steps := [][]Transfer{
		{{1, 1, 2, amount("30.00")}, {2, 2, 3, amount("12.50")}},
		{{3, 3, 1, amount("0.10")}, {4, 3, 1, amount("0.20")}},
		{{5, 2, 1, amount("60.00")}},
	}
	if err := eng.Insert(ctx, "accounts", Account{1, "ada"}, Account{2, "bob"}, Account{3, "cy"}); err != nil {
		return err
	}
	for i, transfers := range steps {
		for _, tr := range transfers {
			if err := eng.Insert(ctx, "transfers", tr); err != nil {
				return err
			}
		}
		if _, err := eng.Step(ctx); err != nil {
			return err
		}
		fmt.Printf("after step %d:\n", i+1)
		rows, err := eng.Read(ctx, "balances")
		if err != nil {
			return err
		}
		var balances []Balance
		if err := rows.ScanAll(&balances); err != nil {
			return err
		}
		for _, b := range balances {
			fmt.Printf("  %-4s %8s\n", b.Owner, b.Balance.StringFixed(2))
		}
	}

	// Exact: 12.50 - 0.10 - 0.20 is 12.20, with no binary rounding.
	rows, err := eng.Lookup(ctx, "balances", map[string]any{"id": 3})
	if err != nil {
		return err
	}
	var cy Balance
	if err := rows.Scan(0, &cy); err != nil {
		return err
	}
	fmt.Printf("cy's balance by key: %s\n", cy.Balance.StringFixed(2))

	// The subscription saw each step that changed the overdrawn accounts.
	fmt.Println("overdrawn, as it changed:")
	for range steps {
		b := <-sub.C
		fmt.Printf("step %d:\n", b.Step)
		if _, err := b.WriteTo(os.Stdout); err != nil {
			return err
		}
	}
	return nil
}
