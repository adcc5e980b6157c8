// Package suggest finds, for a name that is not known, the known name
// its writer most likely meant: the "did you mean" of the type checker's
// errors and the REPL's.
package suggest

import (
	"fmt"
	"strings"
)

// DidYouMean returns a hint naming the candidate closest to name, or ""
// when none is close enough to be worth suggesting. Case is ignored, so a
// name that differs only in case is suggested; ties go to the
// alphabetically first candidate, so the hint does not depend on the
// candidates' order.
func DidYouMean(name string, candidates []string) string {
	best, bestDist := "", len(name)/2+2
	for _, cand := range candidates {
		if d := Distance(strings.ToLower(name), strings.ToLower(cand)); d < bestDist || d == bestDist && cand < best {
			best, bestDist = cand, d
		}
	}
	if best == "" || best == name {
		return ""
	}
	return fmt.Sprintf("did you mean %s?", best)
}

// Distance is the Levenshtein distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
