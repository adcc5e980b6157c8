// Package testwait bounds how long a test waits for an event that may
// never come (a line printed, a step published) by the test binary's own
// deadline rather than by a guessed duration, which a loaded machine can
// exceed while nothing is wrong.
package testwait

import "time"

// deadliner is what *testing.T offers of its deadline.
type deadliner interface {
	Deadline() (time.Time, bool)
}

// Expired returns a channel that receives shortly before the test's
// deadline (go test -timeout), so that a test waiting on an event that
// does not come fails reporting what it saw instead of being killed
// with nothing but stacks. Without a deadline it never receives.
func Expired(t deadliner) <-chan time.Time {
	end, ok := t.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(end)
	// Keep a tenth, at most 30s, to report and clean up.
	return time.After(left - min(left/10, 30*time.Second))
}
