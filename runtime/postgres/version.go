package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
)

// circuitVersion is the hash of everything that decides a circuit's
// outputs and state: the runtime's semantics and the circuit's complete
// fingerprint (function bodies, constants, types, output declarations),
// never the explain text, which leaves such details out.
func circuitVersion(c *ir.Circuit) string {
	sum := sha256.Sum256([]byte("semantics " + strconv.Itoa(runtime.Semantics) + "\n" + ir.Fingerprint(c)))
	return hex.EncodeToString(sum[:8])
}

// viewFingerprints hashes each part of the circuit's fingerprint (the
// inputs, each view), so that a version mismatch can say which parts
// changed; the inputs' part carries the semantics, which concern them all.
func viewFingerprints(c *ir.Circuit) map[string]string {
	out := map[string]string{}
	for k, text := range ir.ViewFingerprints(c) {
		if k == "" {
			text = "semantics " + strconv.Itoa(runtime.Semantics) + "\n" + text
		}
		sum := sha256.Sum256([]byte(text))
		out[k] = hex.EncodeToString(sum[:8])
	}
	return out
}

// firstStepDue reports whether the program's first step is still to be
// taken though the change log is empty: its circuit holds a constant
// relation, whose rows the outputs must hold from installation on, and
// no step has been applied.
func (p *Runner) firstStepDue(ctx context.Context) (bool, error) {
	if !runtime.HasConstants(p.Circuit) {
		return false, nil
	}
	steps, err := p.meta(ctx, p.Pool, "steps")
	return steps == "0", err
}
