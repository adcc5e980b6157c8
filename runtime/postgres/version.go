package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// nodeVersions returns, by node ID, the hash of what each node computes
// (ir.NodeHashes) under the runtime's semantics: a changed program keeps
// the state of the nodes whose versions the deployed one recorded.
func nodeVersions(c *ir.Circuit) []string {
	hashes := ir.NodeHashes(c)
	for i, h := range hashes {
		sum := sha256.Sum256([]byte("semantics " + strconv.Itoa(runtime.Semantics) + "\n" + h))
		hashes[i] = hex.EncodeToString(sum[:16])
	}
	return hashes
}

// outputVersion is the hash of what an output's table holds and how it
// is laid out: its view's node version, its columns, key and indexes.
func outputVersion(o *ir.Output, nodes []string) string {
	text := fmt.Sprintf("%s table=%q cols=%v pk=%v indexes=%v", nodes[o.View.Node.ID], o.Table, o.View.Columns, o.PrimaryKey, o.Indexes)
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:16])
}
