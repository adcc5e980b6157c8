package stdlib

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepping-io/stepping/types"
)

// to_char(t, template) formats a date or timestamp as Postgres's does,
// for the template patterns of dates and times: years, months, days,
// hours, minutes, seconds and their fractions, AM/PM, names of months
// and days, and the FM prefix, which drops padding. Text between
// patterns is copied; "quoted text" is copied whole, and \" is a
// double quote. A timestamptz is formatted in UTC, the
// time zone of stepping's values.

func init() {
	register(&Func{
		Name: "to_char", Signature: "to_char(t timestamp, template text) text", Strict: true,
		Doc: "t (a date, timestamp or timestamptz, which is shown in UTC) formatted by template, as Postgres's to_char: YYYY, YY, MM, Mon, Month, DD, DDD, D, Dy, Day, HH24, HH12 (HH), MI, SS, MS, US, AM/PM, Q, WW, TZ, with FM to drop padding.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("to_char", args, 2); err != nil {
				return types.Type{}, err
			}
			if timeRank(args[0].Kind) == 0 && args[0].Kind != types.Null || !accepts(types.Text, args[1]) {
				return types.Type{}, fmt.Errorf("to_char wants (timestamp, text), got %s", typeList(args))
			}
			return types.Type{Kind: types.Text, Nullable: anyNullable(args)}, nil
		},
		Bind: func(args []types.Type) Impl {
			tz := args[0].Kind == types.Timestamptz
			return func(a []any) (any, error) { return ToChar(a[0].(time.Time), a[1].(string), tz), nil }
		},
	})
}

// toCharPatterns are the template patterns, longest first where one is
// another's prefix, as Postgres matches them.
var toCharPatterns = []string{
	"HH24", "HH12", "HH", "MI", "SS", "MS", "US", "AM", "PM", "am", "pm", "A.M.", "P.M.", "a.m.", "p.m.",
	"YYYY", "YYY", "YY", "Y", "MONTH", "Month", "month", "MON", "Mon", "mon", "MM",
	"DAY", "Day", "day", "DY", "Dy", "dy", "DDD", "DD", "D", "Q", "WW", "TZ", "tz",
}

// toCharNumbers are the patterns of numbers, which match in any case.
var toCharNumbers = []string{"HH24", "HH12", "HH", "MI", "SS", "MS", "US", "YYYY", "YYY", "YY", "Y", "MM", "DDD", "DD", "D", "Q", "WW"}

// ToChar is to_char(t, template); zone says whether t is a timestamptz,
// shown with its zone (UTC) by TZ.
func ToChar(t time.Time, template string, zone bool) string {
	t = t.UTC()
	var b strings.Builder
	for i := 0; i < len(template); {
		rest := template[i:]
		switch {
		case rest[0] == '"':
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				b.WriteString(rest[1:])
				return b.String()
			}
			b.WriteString(rest[1 : 1+end])
			i += end + 2
			continue
		case strings.HasPrefix(rest, `\"`):
			b.WriteByte('"')
			i += 2
			continue
		}
		fill := true
		if strings.HasPrefix(rest, "FM") || strings.HasPrefix(rest, "fm") {
			fill = false
			rest = rest[2:]
			i += 2
		}
		matched := ""
		for _, p := range toCharPatterns {
			if strings.HasPrefix(rest, p) {
				matched = p
				break
			}
		}
		if matched == "" {
			// Numbers' patterns are matched in any case (ms, hh24, yyyy).
			for _, p := range toCharNumbers {
				if len(rest) >= len(p) && strings.EqualFold(rest[:len(p)], p) {
					matched = p
					break
				}
			}
		}
		if matched == "" {
			if !fill {
				continue // FM before no pattern: Postgres drops it
			}
			b.WriteByte(rest[0])
			i++
			continue
		}
		b.WriteString(toCharField(t, matched, fill, zone))
		i += len(matched)
	}
	return b.String()
}

// toCharField formats one pattern.
func toCharField(t time.Time, p string, fill, zone bool) string {
	num := func(v, width int) string {
		if !fill {
			return strconv.Itoa(v)
		}
		return fmt.Sprintf("%0*d", width, v)
	}
	name := func(s string, width int, upper, lower bool) string {
		switch {
		case upper:
			s = strings.ToUpper(s)
		case lower:
			s = strings.ToLower(s)
		}
		if fill && len(s) < width {
			s += strings.Repeat(" ", width-len(s))
		}
		return s
	}
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	pm := t.Hour() >= 12
	switch p {
	case "HH24":
		return num(t.Hour(), 2)
	case "HH12", "HH":
		return num(hour12, 2)
	case "MI":
		return num(t.Minute(), 2)
	case "SS":
		return num(t.Second(), 2)
	case "MS":
		return num(t.Nanosecond()/1e6, 3)
	case "US":
		return num(t.Nanosecond()/1e3, 6)
	case "AM", "PM":
		return map[bool]string{false: "AM", true: "PM"}[pm]
	case "am", "pm":
		return map[bool]string{false: "am", true: "pm"}[pm]
	case "A.M.", "P.M.":
		return map[bool]string{false: "A.M.", true: "P.M."}[pm]
	case "a.m.", "p.m.":
		return map[bool]string{false: "a.m.", true: "p.m."}[pm]
	case "YYYY":
		return num(t.Year(), 4)
	case "YYY":
		return num(t.Year()%1000, 3)
	case "YY":
		return num(t.Year()%100, 2)
	case "Y":
		return strconv.Itoa(t.Year() % 10)
	case "MONTH", "Month", "month":
		return name(t.Month().String(), 9, p == "MONTH", p == "month")
	case "MON", "Mon", "mon":
		return name(t.Month().String()[:3], 3, p == "MON", p == "mon")
	case "MM":
		return num(int(t.Month()), 2)
	case "DAY", "Day", "day":
		return name(t.Weekday().String(), 9, p == "DAY", p == "day")
	case "DY", "Dy", "dy":
		return name(t.Weekday().String()[:3], 3, p == "DY", p == "dy")
	case "DDD":
		return num(t.YearDay(), 3)
	case "DD":
		return num(t.Day(), 2)
	case "D":
		return strconv.Itoa(int(t.Weekday()) + 1)
	case "Q":
		return strconv.Itoa((int(t.Month())-1)/3 + 1)
	case "WW":
		return num((t.YearDay()-1)/7+1, 2)
	case "TZ", "tz":
		if !zone {
			return ""
		}
		if p == "tz" {
			return "utc"
		}
		return "UTC"
	}
	return p
}
