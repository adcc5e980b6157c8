package stepping_test

import (
	"os"
	"strings"
	"testing"
)

// TestSpecShopData checks that spec.md shows the shop example's data
// files as they are: section 10 quotes each under its name.
func TestSpecShopData(t *testing.T) {
	spec, err := os.ReadFile("spec.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"products.csv", "line_items.csv"} {
		file, err := os.ReadFile("examples/shop/" + name)
		if err != nil {
			t.Fatal(err)
		}
		quoted := "`" + name + "`:\n\n```\n" + string(file) + "```\n"
		if !strings.Contains(string(spec), quoted) {
			t.Errorf("spec.md does not show examples/shop/%s as it is:\n%s", name, file)
		}
	}
}
