package ir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// NodeHashes returns, by node ID, a hash of everything each node's
// changes depend on: its operator with every parameter, its columns, and
// the hashes of its inputs, down to the inputs' tables and their types.
// Two nodes with equal hashes, in one circuit or in two, compute the
// same changes from the same tables and keep the same state, whatever
// their IDs and whatever the rest of their circuits: a runtime that
// changes program may keep the state of each node whose hash it already
// has, and must build the others afresh.
//
// A node's hash is the hash of its rendering, as in Fingerprint, with
// each input named by its own hash (a Merkle hash). The nodes of a
// fixpoint's body that the body alone reaches are rendered with it.
func NodeHashes(c *Circuit) []string {
	f := newFingerprinter(c)
	hashes := make([]string, len(c.Nodes))
	set := func(n *Node, text string) {
		sum := sha256.Sum256([]byte(text))
		hashes[n.ID] = hex.EncodeToString(sum[:16])
		f.where[n] = "n:" + hashes[n.ID]
	}
	for _, in := range c.Inputs {
		text := fmt.Sprintf("input %q %s pk=%v", in.Name, canonCols(in.Columns), in.PrimaryKey)
		if in.Postgres != nil {
			text += fmt.Sprintf(" postgres=%q.%q", in.Postgres.Schema, in.Postgres.Name)
		}
		set(in.Node, text)
	}
	for _, n := range c.Nodes {
		if hashes[n.ID] != "" {
			continue
		}
		// Render the node as a section of its own: nodes without a hash
		// yet that it reaches (a fixpoint's body) are rendered with it
		// and named after it.
		f.owner, f.local, f.queue = "", map[*Node]string{}, nil
		f.label(n)
		var b strings.Builder
		rendered := f.renderQueue(&b, "")
		set(n, b.String())
		for _, m := range rendered[1:] {
			if hashes[m.ID] == "" {
				set(m, b.String()+f.local[m])
			}
		}
	}
	return hashes
}
