package suggest

import "testing"

func TestDidYouMean(t *testing.T) {
	cands := []string{"price", "products", "name", "Qty"}
	for _, tc := range []struct{ name, want string }{
		{"prise", "did you mean price?"},
		{"prodcts", "did you mean products?"},
		{"qty", "did you mean Qty?"},
		{"price", ""},
		{"zzzzzzzz", ""},
		{"nme", "did you mean name?"},
	} {
		if got := DidYouMean(tc.name, cands); got != tc.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"same", "same", 0}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
