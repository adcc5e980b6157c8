package runtime

import (
	"context"

	"github.com/stepping-io/stepping/ir"
)

// hasConstants reports whether the circuit holds a constant relation (a
// values literal), whose rows enter the views in the first step whatever
// its changes.
func hasConstants(c *ir.Circuit) bool {
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
	if e.steps > 0 || !hasConstants(e.circuit) {
		return nil, nil
	}
	return e.StepDeltaAt(ctx, e.now(), nil)
}

// firstStepDue reports whether the program's first step is still to be
// taken though the change log is empty: its circuit holds a constant
// relation, whose rows the outputs must hold from installation on, and
// no step has been applied.
func (p *PG) firstStepDue(ctx context.Context) (bool, error) {
	if !hasConstants(p.Circuit) {
		return false, nil
	}
	steps, err := p.meta(ctx, p.Pool, "steps")
	return steps == "0", err
}
