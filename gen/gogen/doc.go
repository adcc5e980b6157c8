// Package gogen writes typed Go code for a program, as sqlc does for
// SQL: a struct per table and output view, a typed client of the HTTP
// API stepq serve serves (docs/serve.md), and typed wrappers over the
// embedding API (stepping.Engine). stepq gen go writes what Generate
// returns.
//
// # Types
//
// A column's Go type follows its stepping type: bool as bool; int2,
// int4, int8 as int16, int32, int64; float4, float8 as float32,
// float64; numeric as decimal.Decimal (exact, its scale kept in JSON);
// text and uuid as string; interval as a string in Postgres's text form
// (1 day 02:00:00); jsonb as json.RawMessage; date, timestamp and
// timestamptz as time.Time; bytea as []byte; T[] as []T; a record as a
// struct of its own, named after the column. A nullable column is a
// pointer (nil for NULL), except a slice, []byte or json.RawMessage,
// which is nil for NULL (and an empty non-nil slice for an empty array).
//
// Field names are the column names in Go's style (basket_id is
// BasketID); each field's json tag is its column's name, and each row
// type's MarshalJSON and UnmarshalJSON read and write the JSON of
// docs/serve.md (numeric as a string, never a float).
//
// The generated code imports the support package genrt, and, for the
// embedding wrappers, the root package stepping.
package gogen
