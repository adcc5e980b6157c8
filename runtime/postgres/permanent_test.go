package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stepping-io/stepping/runtime"
)

// A failure that trying again cures is not permanent, even inside an
// operator's StepError: the runner retries it rather than stop, or merge
// the step with the changes after it.
func TestPermanent(t *testing.T) {
	step := func(cause error) error {
		return &runtime.StepError{Step: 3, View: "v", Err: fmt.Errorf("node n4: integral n2: %w", cause)}
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"a division by zero in the data", step(errors.New("division by zero")), true},
		{"a lookup whose connection the server terminated", step(&pgconn.PgError{Code: "57P01"}), false},
		{"a lookup whose connection closed", step(io.ErrUnexpectedEOF), false},
		{"a lookup on a closed connection", step(pgconn.ErrConnClosed), false},
		{"a lookup cancelled", step(context.Canceled), false},
		{"a constraint of an output", &pgconn.PgError{Code: "23505"}, true},
		{"a serialization failure", fmt.Errorf("step: %w", &pgconn.PgError{Code: "40001"}), false},
		{"a drifted source", &DriftError{Table: "t", Column: "c"}, true},
		{"a version mismatch", fmt.Errorf("program p: %w", ErrVersion), true},
		{"anything else", errors.New("connection reset"), false},
	} {
		if got := permanent(c.err); got != c.want {
			t.Errorf("%s: permanent = %v, want %v", c.name, got, c.want)
		}
	}
}
