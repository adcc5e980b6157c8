// Package types defines stepping's value types, which map one to one onto
// Postgres types, and the Go representation of their values.
//
// Every package of the pipeline below the syntax uses it: the checker to
// type expressions, the IR to describe rows, the runtime and the stores to
// hash, compare, print and parse values.
//
// # Values
//
// A value of a column is a plain Go value:
//
//	bool                         bool
//	int2, int4, int8             int64
//	float4, float8               float64
//	numeric                      decimal.Decimal (github.com/shopspring/decimal), exact
//	text, uuid, jsonb            string (uuid in canonical lower-case form; jsonb in Postgres's text form, see NormalizeJSON)
//	date, timestamp, timestamptz time.Time (timestamptz in UTC; date at midnight UTC)
//	interval                     IntervalValue
//	bytea                        []byte
//	T[]                          []any
//	record                       []any, one value per field
//	NULL                         nil
//
// A row is a []any with one value per column.
//
// This mapping is what Go programs embedding stepping see: the root
// package's Rows, Batch and ScanRow hand these values over, and scanning
// into a struct converts them further (an int64 into a narrower integer
// field, NULL into a nil pointer or a sql.Null value, an array into a
// typed slice). In the other direction stepping.FromGo accepts these
// values and common Go alternatives (any integer type, strings in a
// type's text form, time.Duration for intervals, typed slices).
package types
