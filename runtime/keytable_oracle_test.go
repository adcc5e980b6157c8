package runtime_test

import (
	"testing"

	"github.com/stepping-io/stepping/runtime"
)

// TestOracleCollidingKeys runs the recursion oracle with every overlay
// key hashed alike: a fixpoint's support and its body's integrals must
// tell their keys apart by their strings.
func TestOracleCollidingKeys(t *testing.T) {
	for _, tc := range oracleCases {
		if tc.name != "recursion" {
			continue
		}
		restore := runtime.CollideKeys()
		defer restore()
		h := newHarness(t, tc.src, seedFor(tc.seed+2))
		configureOracle(h, tc.name)
		h.run(*oracleSteps / 3)
	}
}
