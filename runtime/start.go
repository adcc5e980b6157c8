package runtime

import (
	"context"

	"github.com/stepping-io/stepping/ir"
)

// HasConstants reports whether the circuit holds a constant relation (a
// values literal), whose rows enter the views in the first step whatever
// its changes.
func HasConstants(c *ir.Circuit) bool {
	for _, n := range c.Nodes {
		if _, ok := n.Op.(*ir.Constant); ok {
			return true
		}
	}
	return false
}

// Start applies the first step, with no changes, when the circuit holds
// a constant relation and no step has been applied yet, and returns its
// result; otherwise it does nothing and returns nil. Every view must
// equal its query from the moment the program is installed: without
// this, a view of constants stays empty until some table changes.
func (e *Engine) Start(ctx context.Context) (*Result, error) {
	if e.steps > 0 || !HasConstants(e.circuit) {
		return nil, nil
	}
	return e.StepDeltaAt(ctx, e.now(), nil)
}
