package postgres

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// pgTypeName returns the Postgres type of a column of type t. A record,
// or an array holding records, is a jsonb document (see jsonbValue):
// Postgres has no anonymous composite type a column can have.
func pgTypeName(t types.Type) string {
	if holdsRecord(t) {
		return "jsonb"
	}
	switch t.Kind {
	case types.Array:
		return pgTypeName(*t.Elem) + "[]"
	case types.Numeric:
		if t.Scale >= 0 {
			return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale)
		}
		return "numeric"
	case types.Null, types.Invalid:
		return "text"
	}
	return t.Kind.String()
}

// quoteLiteral quotes s as an SQL string literal (standard conforming
// strings, so only quotes are doubled).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// shortHash is a stable 12-hex-digit digest, for names that must fit
// Postgres's 63-byte identifiers.
func shortHash(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// lockKey is the advisory lock key of a program schema.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("stepping:" + schema))
	return int64(h.Sum64())
}

// holdsRecord reports whether t is a record or an array of them (at any
// depth).
func holdsRecord(t types.Type) bool {
	switch t.Kind {
	case types.Record:
		return true
	case types.Array:
		return holdsRecord(*t.Elem)
	}
	return false
}

// jsonbValue converts a value of type t to what encoding/json writes as
// the jsonb document Postgres's to_jsonb gives for it: a record as an
// object keyed by field name, an array as an array, numbers as numbers
// (numerics with their scale), bools as booleans, jsonb as itself, and
// other values as strings (times in ISO 8601, timestamptz in UTC).
func jsonbValue(v any, t types.Type) any {
	switch x := v.(type) {
	case nil, bool, int64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return types.FormatFloat(x)
		}
		return x
	case decimal.Decimal:
		return json.Number(types.FormatNumeric(x))
	case string:
		if t.Kind == types.JSONB {
			return json.RawMessage(x)
		}
		return x
	case time.Time:
		switch t.Kind {
		case types.Date:
			return x.UTC().Format("2006-01-02")
		case types.Timestamptz:
			return x.UTC().Format("2006-01-02T15:04:05.999999") + "+00:00"
		}
		return x.UTC().Format("2006-01-02T15:04:05.999999")
	case []any:
		if t.Kind == types.Record {
			obj := make(map[string]any, len(x))
			for i, e := range x {
				obj[t.Fields[i].Name] = jsonbValue(e, t.Fields[i].Type)
			}
			return obj
		}
		var elem types.Type
		if t.Elem != nil {
			elem = *t.Elem
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonbValue(e, elem)
		}
		return out
	}
	return types.Format(v, t)
}

// jsonbText is the jsonb document of a non-null value of type t.
func jsonbText(v any, t types.Type) json.RawMessage {
	b, err := json.Marshal(jsonbValue(v, t))
	if err != nil {
		panic(fmt.Sprintf("runtime: encoding %s as JSON: %v", t, err)) // every value converts
	}
	return b
}

// toPG converts a value to what pgx encodes for a column of type t.
func toPG(v any, t types.Type) any {
	if v != nil && holdsRecord(t) {
		return jsonbText(v, t)
	}
	switch x := v.(type) {
	case nil:
		return nil
	case decimal.Decimal:
		return pgtype.Numeric{Int: x.Coefficient(), Exp: x.Exponent(), Valid: true}
	case types.IntervalValue:
		return pgtype.Interval{Months: x.Months, Days: x.Days, Microseconds: x.Micros, Valid: true}
	case string:
		switch t.Kind {
		case types.JSONB:
			return json.RawMessage(x)
		case types.UUID:
			var u pgtype.UUID
			if err := u.Scan(x); err == nil {
				return u
			}
		}
	case []any:
		out := make([]any, len(x))
		elem := types.Type{}
		if t.Elem != nil {
			elem = *t.Elem
		}
		for i, e := range x {
			out[i] = toPG(e, elem)
		}
		return out
	}
	return v
}

// toJSON converts a value of type t to what encoding/json writes so that
// Postgres, reading the JSON into a column of type t, gets the value back
// exactly: numerics as JSON numbers with their scale, other non-JSON
// types in their Postgres text form.
func toJSON(v any, t types.Type) any {
	if v != nil && holdsRecord(t) {
		return jsonbText(v, t)
	}
	switch x := v.(type) {
	case nil, bool, int64, string:
		if t.Kind == types.JSONB && x != nil {
			return json.RawMessage(x.(string))
		}
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return types.FormatFloat(x)
		}
		return x
	case decimal.Decimal:
		return json.Number(types.FormatNumeric(x))
	case []any:
		elem := types.Type{}
		if t.Elem != nil {
			elem = *t.Elem
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSON(e, elem)
		}
		return out
	}
	return types.Format(v, t)
}

// fromLogJSON converts a value of a change-log row (written by to_json)
// to a value of type t.
func fromLogJSON(v any, t types.Type) (any, error) { return types.FromJSON(v, t) }

func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
