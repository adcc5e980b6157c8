package types

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Microseconds per unit of time, as Postgres counts them: a day of an
// interval's time part is 24 hours, and a month, when a fraction of one
// must become days, is 30 days.
const (
	MicrosPerSecond = int64(1e6)
	MicrosPerMinute = 60 * MicrosPerSecond
	MicrosPerHour   = 60 * MicrosPerMinute
	MicrosPerDay    = 24 * MicrosPerHour
	daysPerMonth    = 30
)

// ParseInterval reads an interval in Postgres's input syntax: a sequence of
// quantities with units ("1 year 2 mons", "7 days", "1.5 hours", "10
// mins"), optionally a time "[-]hh:mm[:ss[.ffffff]]", optionally followed by
// "ago", which negates the whole; or ISO 8601's "P1Y2M3DT4H5M6S". A number
// without a unit is seconds. Postgres's own output form reads back to the
// same value. Fractions cascade downwards as in Postgres: 1.5 years is 1
// year 6 months, 1.5 months is 1 month 15 days, 1.5 days is 1 day 12 hours.
func ParseInterval(s string) (IntervalValue, error) {
	text := strings.TrimSpace(s)
	text = strings.TrimSpace(strings.TrimPrefix(text, "@"))
	bad := func() (IntervalValue, error) {
		return IntervalValue{}, fmt.Errorf("invalid input syntax for type interval: %q", s)
	}
	if strings.HasPrefix(text, "P") {
		iv, ok := parseISOInterval(text[1:])
		if !ok {
			return bad()
		}
		return iv, nil
	}
	var acc intervalAcc
	toks := intervalTokens(text)
	if len(toks) == 0 {
		return bad()
	}
	ago := false
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		switch {
		case tok == "ago" && i == len(toks)-1 && i > 0:
			ago = true
		case strings.Contains(tok, ":"):
			us, ok := parseClock(tok)
			if !ok {
				return bad()
			}
			acc.micros += float64(us)
		default:
			v, err := strconv.ParseFloat(tok, 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return bad()
			}
			unit := "second"
			if i+1 < len(toks) && isUnitWord(toks[i+1]) {
				unit = toks[i+1]
				i++
			}
			if !acc.add(v, unit) {
				return bad()
			}
		}
	}
	iv, ok := acc.value()
	if !ok {
		return IntervalValue{}, fmt.Errorf("interval out of range: %q", s)
	}
	if ago {
		iv = IntervalValue{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
	}
	return iv, nil
}

// intervalTokens splits interval text into numbers, units and times,
// separating a number from a unit written against it ("7days").
func intervalTokens(s string) []string {
	var out []string
	for _, f := range strings.Fields(strings.ToLower(s)) {
		i := strings.IndexFunc(f, unicode.IsLetter)
		if i > 0 && !strings.Contains(f, ":") {
			out = append(out, f[:i], f[i:])
			continue
		}
		out = append(out, f)
	}
	return out
}

// IntervalUnit returns the canonical name (second, minute, hour, day,
// week, month, year, decade, century, millennium, millisecond,
// microsecond) of a unit written in any of Postgres's spellings.
func IntervalUnit(s string) (string, bool) {
	canon, ok := intervalUnits[strings.ToLower(s)]
	return canon, ok
}

func isUnitWord(s string) bool {
	_, ok := intervalUnits[s]
	return ok
}

// intervalUnits maps each spelling of a unit to its canonical name.
var intervalUnits = map[string]string{}

func init() {
	for canon, spellings := range map[string][]string{
		"microsecond": {"microsecond", "microseconds", "us", "usec", "usecs", "useconds"},
		"millisecond": {"millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds"},
		"second":      {"second", "seconds", "s", "sec", "secs"},
		"minute":      {"minute", "minutes", "m", "min", "mins"},
		"hour":        {"hour", "hours", "h", "hr", "hrs"},
		"day":         {"day", "days", "d"},
		"week":        {"week", "weeks", "w"},
		"month":       {"month", "months", "mon", "mons"},
		"year":        {"year", "years", "y", "yr", "yrs"},
		"decade":      {"decade", "decades", "dec", "decs"},
		"century":     {"century", "centuries", "c", "cent"},
		"millennium":  {"millennium", "millennia", "mil", "mils"},
	} {
		for _, s := range spellings {
			intervalUnits[s] = canon
		}
	}
}

// intervalAcc accumulates an interval's fields while parsing; fractions
// are cascaded into the smaller fields as they come.
type intervalAcc struct {
	months, days float64
	micros       float64
}

func (a *intervalAcc) add(v float64, unit string) bool {
	whole, frac := math.Modf(v)
	switch intervalUnits[unit] {
	case "microsecond":
		a.micros += v
	case "millisecond":
		a.micros += v * 1e3
	case "second":
		a.micros += v * 1e6
	case "minute":
		a.micros += v * float64(MicrosPerMinute)
	case "hour":
		a.micros += v * float64(MicrosPerHour)
	case "day":
		a.days += whole
		a.micros += frac * float64(MicrosPerDay)
	case "week":
		a.fractionalDays(v * 7)
	case "month":
		a.months += whole
		a.fractionalDays(frac * daysPerMonth)
	case "year":
		a.years(v, 1)
	case "decade":
		a.years(v, 10)
	case "century":
		a.years(v, 100)
	case "millennium":
		a.years(v, 1000)
	default:
		return false
	}
	return true
}

// fractionalDays adds days, the fraction of a day becoming time.
func (a *intervalAcc) fractionalDays(d float64) {
	whole, frac := math.Modf(d)
	a.days += whole
	a.micros += frac * float64(MicrosPerDay)
}

// years adds v times n years; a fraction of a year becomes whole months,
// rounded, as Postgres does.
func (a *intervalAcc) years(v float64, n float64) {
	whole, frac := math.Modf(v * n)
	a.months += whole*12 + math.RoundToEven(frac*12)
}

func (a *intervalAcc) value() (IntervalValue, bool) {
	if math.Abs(a.months) > math.MaxInt32 || math.Abs(a.days) > math.MaxInt32 || math.Abs(a.micros) > math.MaxInt64/2 {
		return IntervalValue{}, false
	}
	return IntervalValue{Months: int32(a.months), Days: int32(a.days), Micros: int64(math.RoundToEven(a.micros))}, true
}

// parseClock reads [+-]h:m[:s[.f]] as microseconds.
func parseClock(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	parts := strings.Split(strings.TrimLeft(s, "+-"), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || m >= 60 {
		return 0, false
	}
	us := h*MicrosPerHour + m*MicrosPerMinute
	if len(parts) == 3 {
		sec, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || sec >= 60 || sec < 0 {
			return 0, false
		}
		us += int64(math.RoundToEven(sec * 1e6))
	}
	if neg {
		us = -us
	}
	return us, true
}

// parseISOInterval reads the part of an ISO 8601 duration after its P.
func parseISOInterval(s string) (IntervalValue, bool) {
	var acc intervalAcc
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			inTime = true
			s = s[1:]
			continue
		}
		i := strings.IndexFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' })
		if i <= 0 {
			return IntervalValue{}, false
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return IntervalValue{}, false
		}
		unit := map[byte]string{'Y': "year", 'M': "month", 'W': "week", 'D': "day"}[s[i]]
		if inTime {
			unit = map[byte]string{'H': "hour", 'M': "minute", 'S': "second"}[s[i]]
		}
		if unit == "" || !acc.add(v, unit) {
			return IntervalValue{}, false
		}
		s = s[i+1:]
	}
	return acc.value()
}

// formatInterval prints an interval as Postgres does with its default
// IntervalStyle: "1 year 2 mons 3 days 04:05:06.5", "-1 days +02:00:00".
func formatInterval(iv IntervalValue) string {
	var b strings.Builder
	zero, before := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !zero {
			b.WriteByte(' ')
		}
		if before && v > 0 {
			b.WriteByte('+')
		}
		fmt.Fprintf(&b, "%d %s", v, unit)
		if v != 1 {
			b.WriteByte('s')
		}
		before, zero = v < 0, false
	}
	part(int64(iv.Months/12), "year")
	part(int64(iv.Months%12), "mon")
	part(int64(iv.Days), "day")
	if zero || iv.Micros != 0 {
		if !zero {
			b.WriteByte(' ')
		}
		us := iv.Micros
		switch {
		case us < 0:
			b.WriteByte('-')
			us = -us
		case before:
			b.WriteByte('+')
		}
		h, us := us/MicrosPerHour, us%MicrosPerHour
		m, us := us/MicrosPerMinute, us%MicrosPerMinute
		s, us := us/MicrosPerSecond, us%MicrosPerSecond
		fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
		if us != 0 {
			b.WriteString(strings.TrimRight(fmt.Sprintf(".%06d", us), "0"))
		}
	}
	return b.String()
}
