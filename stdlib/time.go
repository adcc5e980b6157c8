package stdlib

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
)

// Time arithmetic follows Postgres, with timestamptz computed in UTC (a
// Postgres session whose TimeZone is UTC gives the same results):
//
//	timestamp ± interval    timestamp      date ± int4        date
//	timestamptz ± interval  timestamptz    date - date        int4
//	date ± interval         timestamp      t1 - t2            interval (days and time)
//	interval ± interval     interval       interval * integer interval
//	-interval               interval
//
// Adding an interval adds its months first (the day of the month clamped
// to the month's last day: 2024-01-31 + 1 month is 2024-02-29), then its
// days, then its time.

// timeRank orders the time kinds for comparison and subtraction: a date is
// a timestamp at midnight, and a timestamp a timestamptz in UTC.
func timeRank(k types.Kind) int {
	switch k {
	case types.Date:
		return 1
	case types.Timestamp:
		return 2
	case types.Timestamptz:
		return 3
	}
	return 0
}

// timeArith returns the type and implementation of op on a time or
// interval operand, or ok false when op is not defined on a and b.
func timeArith(op lang.Op, a, b types.Type) (types.Type, func(x, y any) (any, error), bool) {
	ka, kb := a.Kind, b.Kind
	result := func(k types.Kind) types.Type {
		return types.Type{Kind: k, Nullable: a.Nullable || b.Nullable, Scale: -1}
	}
	switch {
	case op == lang.Add && timeRank(ka) > 0 && kb == types.Interval:
		return result(max(ka, types.Timestamp)), func(x, y any) (any, error) {
			return AddInterval(x.(time.Time), y.(types.IntervalValue))
		}, true
	case op == lang.Add && ka == types.Interval && timeRank(kb) > 0:
		return result(max(kb, types.Timestamp)), func(x, y any) (any, error) {
			return AddInterval(y.(time.Time), x.(types.IntervalValue))
		}, true
	case op == lang.Sub && timeRank(ka) > 0 && kb == types.Interval:
		return result(max(ka, types.Timestamp)), func(x, y any) (any, error) {
			return AddInterval(x.(time.Time), NegateInterval(y.(types.IntervalValue)))
		}, true
	case (op == lang.Add || op == lang.Sub) && ka == types.Date && b.IsInteger():
		sign := int64(1)
		if op == lang.Sub {
			sign = -1
		}
		return result(types.Date), func(x, y any) (any, error) {
			return x.(time.Time).AddDate(0, 0, int(sign*y.(int64))), nil
		}, true
	case op == lang.Add && a.IsInteger() && kb == types.Date:
		return result(types.Date), func(x, y any) (any, error) {
			return y.(time.Time).AddDate(0, 0, int(x.(int64))), nil
		}, true
	case op == lang.Sub && ka == types.Date && kb == types.Date:
		return result(types.Int4), func(x, y any) (any, error) {
			return int64(x.(time.Time).Sub(y.(time.Time)) / (24 * time.Hour)), nil
		}, true
	case op == lang.Sub && timeRank(ka) > 0 && timeRank(kb) > 0:
		return result(types.Interval), func(x, y any) (any, error) {
			return SubTimes(x.(time.Time), y.(time.Time)), nil
		}, true
	case (op == lang.Add || op == lang.Sub) && ka == types.Interval && kb == types.Interval:
		return result(types.Interval), func(x, y any) (any, error) {
			v := y.(types.IntervalValue)
			if op == lang.Sub {
				v = NegateInterval(v)
			}
			return addIntervals(x.(types.IntervalValue), v)
		}, true
	case op == lang.Mul && ka == types.Interval && b.IsInteger():
		return result(types.Interval), func(x, y any) (any, error) {
			return mulInterval(x.(types.IntervalValue), y.(int64))
		}, true
	case op == lang.Mul && a.IsInteger() && kb == types.Interval:
		return result(types.Interval), func(x, y any) (any, error) {
			return mulInterval(y.(types.IntervalValue), x.(int64))
		}, true
	}
	return types.Type{}, nil, false
}

var errIntervalRange = fmt.Errorf("interval out of range")

// AddInterval adds an interval to a time: months, then days, then time.
func AddInterval(t time.Time, iv types.IntervalValue) (time.Time, error) {
	if iv.Months != 0 {
		y, m, d := t.Date()
		months := int(y)*12 + int(m) - 1 + int(iv.Months)
		ny, nm := months/12, time.Month(months%12+1)
		if months < 0 {
			return time.Time{}, fmt.Errorf("timestamp out of range")
		}
		d = min(d, daysIn(ny, nm))
		h, mi, s := t.Clock()
		t = time.Date(ny, nm, d, h, mi, s, t.Nanosecond(), time.UTC)
	}
	if iv.Days != 0 {
		t = t.AddDate(0, 0, int(iv.Days))
	}
	return t.Add(time.Duration(iv.Micros) * time.Microsecond), nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// SubTimes returns a − b as Postgres's timestamp subtraction does: whole
// days and the remaining time, both with the sign of the difference.
func SubTimes(a, b time.Time) types.IntervalValue {
	us := a.UnixMicro() - b.UnixMicro()
	return types.IntervalValue{Days: int32(us / types.MicrosPerDay), Micros: us % types.MicrosPerDay}
}

// NegateInterval negates each field.
func NegateInterval(iv types.IntervalValue) types.IntervalValue {
	return types.IntervalValue{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
}

func addIntervals(a, b types.IntervalValue) (any, error) {
	m, d := int64(a.Months)+int64(b.Months), int64(a.Days)+int64(b.Days)
	us := a.Micros + b.Micros
	overflow := a.Micros > 0 && b.Micros > 0 && us < 0 || a.Micros < 0 && b.Micros < 0 && us >= 0
	if m != int64(int32(m)) || d != int64(int32(d)) || overflow {
		return nil, errIntervalRange
	}
	return types.IntervalValue{Months: int32(m), Days: int32(d), Micros: us}, nil
}

func mulInterval(iv types.IntervalValue, n int64) (any, error) {
	m, d := int64(iv.Months)*n, int64(iv.Days)*n
	us := iv.Micros * n
	if m != int64(int32(m)) || d != int64(int32(d)) || n != 0 && us/n != iv.Micros {
		return nil, errIntervalRange
	}
	return types.IntervalValue{Months: int32(m), Days: int32(d), Micros: us}, nil
}

// timeUnit returns the canonical name of a date_trunc or extract unit,
// written in any case, singular or plural ("Days", "hour", "mins").
func timeUnit(s string) string {
	u := strings.ToLower(strings.TrimSpace(s))
	switch u {
	case "dow", "isodow", "doy", "isoyear", "epoch", "quarter", "quarters":
		return strings.TrimSuffix(u, "s")
	}
	if canon, ok := types.IntervalUnit(u); ok {
		return canon
	}
	return u
}

// DateTrunc truncates t to the start of the given unit, as Postgres's
// date_trunc: weeks start on Monday, centuries and millennia in years
// ending in 01 (2001-01-01 is the start of the 21st century).
func DateTrunc(unit string, t time.Time) (time.Time, error) {
	y, m, d := t.Date()
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	switch timeUnit(unit) {
	case "microsecond":
		return t.Truncate(time.Microsecond), nil
	case "millisecond":
		return t.Truncate(time.Millisecond), nil
	case "second":
		return t.Truncate(time.Second), nil
	case "minute":
		return t.Truncate(time.Minute), nil
	case "hour":
		return t.Truncate(time.Hour), nil
	case "day":
		return date(y, m, d), nil
	case "week":
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return date(y, m, d-back), nil
	case "month":
		return date(y, m, 1), nil
	case "quarter":
		return date(y, m-(m-1)%3, 1), nil
	case "year":
		return date(y, 1, 1), nil
	case "decade":
		return date(y-y%10, 1, 1), nil
	case "century":
		return date((y-1)/100*100+1, 1, 1), nil
	case "millennium":
		return date((y-1)/1000*1000+1, 1, 1), nil
	}
	return time.Time{}, fmt.Errorf("unit %q not recognized for date_trunc", unit)
}

// Extract returns a field of a date, timestamp, timestamptz or interval
// as Postgres 14's extract does: a numeric, with six fractional digits for
// second and epoch (three for milliseconds), except epoch of a date.
func Extract(field string, v any, k types.Kind) (decimal.Decimal, error) {
	unit := timeUnit(field)
	var d decimal.Decimal
	var err error
	if iv, ok := v.(types.IntervalValue); ok {
		d, err = extractInterval(unit, iv)
	} else {
		d, err = extractTime(unit, v.(time.Time), k)
	}
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("unit %q not supported for type %s", field, k)
	}
	return d, nil
}

var errUnit = fmt.Errorf("unsupported unit")

func extractTime(unit string, t time.Time, k types.Kind) (decimal.Decimal, error) {
	y, m, day := t.Date()
	n := func(x int) (decimal.Decimal, error) { return decimal.NewFromInt(int64(x)), nil }
	usOfMinute := int64(t.Second())*1e6 + int64(t.Nanosecond()/1e3)
	if k == types.Date {
		switch unit {
		case "microsecond", "millisecond", "second", "minute", "hour":
			return decimal.Decimal{}, errUnit
		case "epoch":
			return decimal.NewFromInt(t.Unix()), nil
		}
	}
	switch unit {
	case "microsecond":
		return decimal.NewFromInt(usOfMinute), nil
	case "millisecond":
		return decimal.New(usOfMinute, -3), nil
	case "second":
		return decimal.New(usOfMinute, -6), nil
	case "minute":
		return n(t.Minute())
	case "hour":
		return n(t.Hour())
	case "day":
		return n(day)
	case "week":
		_, w := t.ISOWeek()
		return n(w)
	case "month":
		return n(int(m))
	case "quarter":
		return n((int(m)-1)/3 + 1)
	case "year":
		return n(y)
	case "decade":
		return n(y / 10)
	case "century":
		return n((y + 99) / 100)
	case "millennium":
		return n((y + 999) / 1000)
	case "dow":
		return n(int(t.Weekday()))
	case "isodow":
		return n((int(t.Weekday())+6)%7 + 1)
	case "doy":
		return n(t.YearDay())
	case "isoyear":
		iy, _ := t.ISOWeek()
		return n(iy)
	case "epoch":
		return decimal.New(t.UnixMicro(), -6), nil
	}
	return decimal.Decimal{}, errUnit
}

func extractInterval(unit string, iv types.IntervalValue) (decimal.Decimal, error) {
	n := func(x int64) (decimal.Decimal, error) { return decimal.NewFromInt(x), nil }
	years, months := int64(iv.Months/12), int64(iv.Months%12)
	usOfMinute := iv.Micros % types.MicrosPerMinute
	switch unit {
	case "microsecond":
		return n(usOfMinute)
	case "millisecond":
		return decimal.New(usOfMinute, -3), nil
	case "second":
		return decimal.New(usOfMinute, -6), nil
	case "minute":
		return n(iv.Micros % types.MicrosPerHour / types.MicrosPerMinute)
	case "hour":
		return n(iv.Micros / types.MicrosPerHour)
	case "day":
		return n(int64(iv.Days))
	case "month":
		return n(months)
	case "quarter":
		return n(months/3 + 1)
	case "year":
		return n(years)
	case "decade":
		return n(years / 10)
	case "century":
		return n(years / 100)
	case "millennium":
		return n(years / 1000)
	case "epoch":
		// A year counts 365.25 days and a month 30, as in Postgres.
		secs := decimal.NewFromInt(years).Mul(decimal.NewFromInt(365*86400 + 86400/4)).
			Add(decimal.NewFromInt(months*30*86400 + int64(iv.Days)*86400))
		return secs.Add(decimal.New(iv.Micros, -6)).Round(6), nil
	}
	return decimal.Decimal{}, errUnit
}

// DatePart is extract as a float8, as Postgres's date_part.
func DatePart(field string, v any, k types.Kind) (float64, error) {
	d, err := Extract(field, v, k)
	if err != nil {
		return 0, err
	}
	f, _ := d.Float64()
	if math.IsInf(f, 0) {
		return 0, fmt.Errorf("date_part: value out of range")
	}
	return f, nil
}

func init() {
	register(&Func{
		Name: "now", Signature: "now() timestamptz", Clock: true,
		Doc: "The runtime's clock: the time of the current step, the same for every row of the step.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("now", args, 0); err != nil {
				return types.Type{}, err
			}
			return types.Of(types.Timestamptz), nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return a[0], nil }
		},
	})
	register(&Func{
		Name: "date_trunc", Signature: "date_trunc(unit text, t timestamp) timestamp", Strict: true,
		Doc: "t truncated to the start of its unit: microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, century or millennium. A date gives a timestamptz.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("date_trunc", args, 2); err != nil {
				return types.Type{}, err
			}
			if !accepts(types.Text, args[0]) || timeRank(args[1].Kind) == 0 && args[1].Kind != types.Null {
				return types.Type{}, fmt.Errorf("date_trunc wants (text, timestamp), got %s", typeList(args))
			}
			k := args[1].Kind
			if k == types.Date || k == types.Null {
				k = types.Timestamptz
			}
			return types.Type{Kind: k, Nullable: anyNullable(args), Scale: -1}, nil
		},
		Validate: func(consts []any, _ []types.Type) error {
			if u, ok := consts[0].(string); ok {
				_, err := DateTrunc(u, time.Time{})
				return err
			}
			return nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return DateTrunc(a[0].(string), a[1].(time.Time)) }
		},
	})
	register(&Func{
		Name: "date_bin", Signature: "date_bin(stride interval, t timestamp, origin timestamp) timestamp", Strict: true,
		Doc: "The start of the bin of width stride, counted from origin, that t falls in: t rounded down to origin plus a whole number of strides. stride holds no months or years. Both timestamps are of one kind, and so is the result.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("date_bin", args, 3); err != nil {
				return types.Type{}, err
			}
			k := args[1].Kind
			if k == types.Null {
				k = args[2].Kind
			}
			if !accepts(types.Interval, args[0]) || k != types.Timestamp && k != types.Timestamptz && k != types.Null ||
				args[2].Kind != k && args[2].Kind != types.Null || args[1].Kind != k && args[1].Kind != types.Null {
				return types.Type{}, fmt.Errorf("date_bin wants (interval, timestamp, timestamp) or (interval, timestamptz, timestamptz), got %s", typeList(args))
			}
			if k == types.Null {
				k = types.Timestamp
			}
			return types.Type{Kind: k, Nullable: anyNullable(args), Scale: -1}, nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				return DateBin(a[0].(types.IntervalValue), a[1].(time.Time), a[2].(time.Time))
			}
		},
	})
	register(&Func{
		Name: "hop_starts", Signature: "hop_starts(t timestamp, every interval, size interval) timestamp[]", Strict: true,
		Doc: "The starts of the hopping windows of width size, one every every from 1970-01-01 00:00:00, that hold t, latest first: what hop t every e size s gives each row.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("hop_starts", args, 3); err != nil {
				return types.Type{}, err
			}
			k := args[0].Kind
			if k != types.Timestamp && k != types.Timestamptz && k != types.Null || !accepts(types.Interval, args[1]) || !accepts(types.Interval, args[2]) {
				return types.Type{}, fmt.Errorf("hop_starts wants (timestamp, interval, interval), got %s", typeList(args))
			}
			if k == types.Null {
				k = types.Timestamp
			}
			return types.Type{Kind: types.Array, Elem: &types.Type{Kind: k, Scale: -1}, Nullable: anyNullable(args)}, nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				return HopStarts(a[0].(time.Time), a[1].(types.IntervalValue), a[2].(types.IntervalValue))
			}
		},
	})
	register(&Func{
		Name: "to_timestamp", Signature: "to_timestamp(seconds float8) timestamptz", Strict: true,
		Doc:   "The time seconds after 1970-01-01 00:00:00+00, to the microsecond.",
		Check: fixed("to_timestamp", types.Timestamptz, types.Float8),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return ToTimestamp(a[0].(float64)) }
		},
	})
	for _, f := range []struct {
		name, result, doc string
		kind              types.Kind
	}{
		{"extract", "numeric", "A field of a date, timestamp or interval (extract(field from x)): second (with its fraction), minute, hour, day, week, month, quarter, year, decade, century, millennium, dow, isodow, doy, isoyear, epoch, milliseconds, microseconds.", types.Numeric},
		{"date_part", "float8", "extract as a float8.", types.Float8},
	} {
		register(&Func{
			Name: f.name, Signature: f.name + "(field text, x timestamp) " + f.result, Strict: true, Doc: f.doc,
			Check: func(args []types.Type) (types.Type, error) {
				if err := arity(f.name, args, 2); err != nil {
					return types.Type{}, err
				}
				if !accepts(types.Text, args[0]) || timeRank(args[1].Kind) == 0 && args[1].Kind != types.Interval && args[1].Kind != types.Null {
					return types.Type{}, fmt.Errorf("%s wants a field and a date, timestamp or interval, got %s", f.name, typeList(args))
				}
				return types.Type{Kind: f.kind, Nullable: anyNullable(args), Scale: -1}, nil
			},
			Validate: func(consts []any, args []types.Type) error {
				field, ok := consts[0].(string)
				if !ok || args[1].Kind == types.Null {
					return nil
				}
				var sample any = time.Time{}
				if args[1].Kind == types.Interval {
					sample = types.IntervalValue{}
				}
				_, err := Extract(field, sample, args[1].Kind)
				return err
			},
			Bind: func(ts []types.Type) Impl {
				k := ts[1].Kind
				if f.kind == types.Float8 {
					return func(a []any) (any, error) { return DatePart(a[0].(string), a[1], k) }
				}
				return func(a []any) (any, error) { return Extract(a[0].(string), a[1], k) }
			},
		})
	}
}

// DateBin is date_bin(stride, t, origin), as Postgres 15 computes it:
// origin plus the whole strides from it that reach t, rounded down (so a
// t before origin falls in the bin before).
func DateBin(stride types.IntervalValue, t, origin time.Time) (time.Time, error) {
	if stride.Months != 0 {
		return time.Time{}, errors.New("date_bin: timestamps cannot be binned into intervals containing months or years")
	}
	width := int64(stride.Days)*86_400_000_000 + stride.Micros
	if width <= 0 {
		return time.Time{}, errors.New("date_bin: stride must be greater than zero")
	}
	diff := t.Sub(origin).Microseconds()
	delta := diff - diff%width
	if diff < 0 && diff%width != 0 {
		delta -= width
	}
	return origin.Add(time.Duration(delta) * time.Microsecond), nil
}

// ToTimestamp is to_timestamp(seconds): the time seconds after the Unix
// epoch, rounded to the microsecond as Postgres rounds it.
func ToTimestamp(seconds float64) (time.Time, error) {
	switch {
	case math.IsNaN(seconds):
		return time.Time{}, errors.New("to_timestamp: timestamp cannot be NaN")
	case math.IsInf(seconds, 0) || math.Abs(seconds) > 9e12:
		return time.Time{}, fmt.Errorf("to_timestamp: timestamp out of range: %g", seconds)
	}
	micros := math.RoundToEven(seconds * 1e6)
	return time.UnixMicro(int64(micros)).UTC(), nil
}

// Epoch is 1970-01-01 00:00:00 UTC, where tumbling and hopping windows
// are counted from.
var Epoch = time.Unix(0, 0).UTC()

// HopStarts is hop_starts(t, every, size): the starts, latest first, of
// the windows [start, start + size) that begin at Epoch plus a whole
// number of every and hold t.
func HopStarts(t time.Time, every, size types.IntervalValue) ([]any, error) {
	latest, err := DateBin(every, t, Epoch)
	if err != nil {
		return nil, fmt.Errorf("hop: every: %w", err)
	}
	if size.Months != 0 {
		return nil, errors.New("hop: size: windows cannot be sized in months or years")
	}
	width := size.Duration()
	if width <= 0 {
		return nil, errors.New("hop: size must be greater than zero")
	}
	step := every.Duration()
	var out []any
	for start := latest; start.Add(width).After(t); start = start.Add(-step) {
		out = append(out, start)
	}
	return out, nil
}
