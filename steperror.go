package stepping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
)

// StepError is a step that failed while the program ran: the data it met
// (a division by zero, a duplicate primary key, a value out of range)
// made it fail. errors.As finds it in the errors of Engine.Step, Apply
// and Extend; Diagnostics places it in the program's text when the
// failure has a place there. It tells a caller that shows the failure in
// its own words (stepq repl, which runs programs of its own making) the
// step, the view, and why, apart.
type StepError struct {
	Step int64  // the number of the step that failed
	View string // the view whose computation failed; empty for a failure of a table's changes
	// Err is why, without the step, view or place: "division by zero",
	// "table products: change 1 (insert): duplicate primary key
	// (name=tv)".
	Err error

	err  error       // the engine's error, which Error prints and Unwrap returns
	diag *lang.Error // where in the program's text, or nil
}

// Error returns the engine's message: "step N: view V: " and why, with
// the place when there is one.
func (e *StepError) Error() string { return e.err.Error() }

// Unwrap returns the engine's error, so that errors.Is and errors.As see
// its causes (ErrDuplicateKey, ...).
func (e *StepError) Unwrap() error { return e.err }

// reason is a cause with its prefix of step or node numbers taken off,
// which still unwraps to the cause.
type reason struct {
	msg string
	err error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.err }

// stepErrorOf returns err with a *StepError in front when it is a
// failure of a step that the runtime reports as one: an operator's, or
// one of the step's changes to a table.
func stepErrorOf(err error) error {
	if err == nil {
		return nil
	}
	var se *runtime.StepError
	if !errors.As(err, &se) {
		return err
	}
	why := se.Err
	var failed *ir.EvalError
	if errors.As(se.Err, &failed) {
		why = failed.Err // its place is the diagnostic's
	} else if p := fmt.Sprintf("node n%d: ", se.Node); se.View != "" && strings.HasPrefix(why.Error(), p) {
		why = &reason{msg: strings.TrimPrefix(why.Error(), p), err: why}
	}
	return &StepError{Step: se.Step, View: se.View, Err: why, err: err, diag: se.Diagnostic()}
}
