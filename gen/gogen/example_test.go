package gogen_test

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/gen/gogen"
)

// The files generated for a program, and the struct of its table.
func ExampleGenerate() {
	prog, err := stepping.Compile("notes.step", "table notes (id int8, body text?, primary key (id))\n")
	if err != nil {
		panic(err)
	}
	files, err := gogen.Generate(prog, "notes")
	if err != nil {
		panic(err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Println(names)
	models := string(files["models.go"])
	start := strings.Index(models, "type NotesRow struct")
	fmt.Println(models[start : start+strings.Index(models[start:], "}")+1])
	// Output:
	// [client.go engine.go models.go]
	// type NotesRow struct {
	// 	ID   int64   `json:"id"`   // int8
	// 	Body *string `json:"body"` // text?
	// }
}
