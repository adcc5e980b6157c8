package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/serve/openapi"
)

// The schema of a table's row in the document of its program.
func ExampleDocument() {
	prog, err := stepping.Compile("notes.step", "table notes (id int8, price numeric(10,2)?, primary key (id))\n")
	if err != nil {
		panic(err)
	}
	doc, err := openapi.Document(prog)
	if err != nil {
		panic(err)
	}
	var d struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, d.Components.Schemas["notes"]); err != nil {
		panic(err)
	}
	fmt.Println(b.String())
	// Output:
	// {"type":"object","description":"a row of table notes; a column left out is NULL, and a number may also be given as a string in its text form","properties":{"id":{"type":"integer","format":"int64","x-stepping-type":"int8"},"price":{"type":["string","null"],"pattern":"^-?[0-9]+(\\.[0-9]+)?$","description":"an exact decimal in Postgres's text form, its scale kept","x-stepping-type":"numeric(10,2)?"}},"required":["id"],"additionalProperties":false}
}
