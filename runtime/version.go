package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/stepping-io/stepping/ir"
)

// Semantics is the version of what the runtime makes of a circuit: how
// its operators compute, what their state holds, how values are encoded.
// It is part of every program's version, so bump it whenever a change to
// the runtime would make state built before it wrong to resume: every
// program's state is then rebuilt rather than mixed with the new meaning.
const Semantics = 1

// circuitVersion is the hash of everything that decides a circuit's
// outputs and state: the runtime's semantics and the circuit's complete
// fingerprint (function bodies, constants, types, output declarations),
// never the explain text, which leaves such details out.
func circuitVersion(c *ir.Circuit) string {
	sum := sha256.Sum256([]byte("semantics " + strconv.Itoa(Semantics) + "\n" + ir.Fingerprint(c)))
	return hex.EncodeToString(sum[:8])
}

// viewFingerprints hashes each part of the circuit's fingerprint (the
// inputs, each view), so that a version mismatch can say which parts
// changed; the inputs' part carries the semantics, which concern them all.
func viewFingerprints(c *ir.Circuit) map[string]string {
	out := map[string]string{}
	for k, text := range ir.ViewFingerprints(c) {
		if k == "" {
			text = "semantics " + strconv.Itoa(Semantics) + "\n" + text
		}
		sum := sha256.Sum256([]byte(text))
		out[k] = hex.EncodeToString(sum[:8])
	}
	return out
}
