package types

import (
	"testing"

	"github.com/shopspring/decimal"
)

// TestIntervalText reads intervals in Postgres's input syntax and prints
// them; the expected text is what Postgres 15 prints for the same input.
func TestIntervalText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.5 years", "1 year 6 mons"},
		{"1.5 months", "1 mon 15 days"},
		{"1.5 weeks", "10 days 12:00:00"},
		{"1.5 days", "1 day 12:00:00"},
		{"7", "00:00:07"},
		{"1 day -2 hours", "1 day -02:00:00"},
		{"-1 day 02:00", "-1 days +02:00:00"},
		{"2 hours 30 minutes ago", "-02:30:00"},
		{"1day", "1 day"},
		{"1.25 hours", "01:15:00"},
		{"10 mins", "00:10:00"},
		{"P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"},
		{"-00:30", "-00:30:00"},
		{"1 millisecond", "00:00:00.001"},
		{"3 decades", "30 years"},
		{"2 centuries", "200 years"},
		{"-1 year -2 mons +3 days -04:05:06.5", "-1 years -2 mons +3 days -04:05:06.5"},
		{"1 mon -1 days", "1 mon -1 days"},
		{"-14 months", "-1 years -2 mons"},
		{"25:00:00", "25:00:00"},
		{"1 year 2 mons 3 days 04:05:06.5", "1 year 2 mons 3 days 04:05:06.5"},
		{"@ 1 minute", "00:01:00"},
		{"0", "00:00:00"},
		{"1 week 2 days", "9 days"},
		{"-1.5 hours", "-01:30:00"},
		{"100 us", "00:00:00.0001"},
	} {
		iv, err := ParseInterval(tc.in)
		if err != nil {
			t.Errorf("ParseInterval(%q): %v", tc.in, err)
			continue
		}
		got := Format(iv, Of(Interval))
		if got != tc.want {
			t.Errorf("%q reads as %s, want %s", tc.in, got, tc.want)
		}
		back, err := ParseInterval(got)
		if err != nil || back != iv {
			t.Errorf("%q printed as %q reads back as %+v (%v), want %+v", tc.in, got, back, err, iv)
		}
	}
	for _, bad := range []string{"", "days", "1 fortnight", "1:2:3:4", "P1X", "ago", "1 day ago ago"} {
		if iv, err := ParseInterval(bad); err == nil {
			t.Errorf("ParseInterval(%q) = %+v, want an error", bad, iv)
		}
	}
}

// TestNormalizeJSON checks the jsonb text form against Postgres's.
func TestNormalizeJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b":1,"aa":[1.50,1e2,-0,"x<\u00e9\n"],"a":{"z":null,"y":true},"b":2}`,
			`{"a": {"y": true, "z": null}, "b": 2, "aa": [1.50, 100, 0, "x<é\n"]}`},
		{`"x"`, `"x"`},
		{` [ ] `, `[]`},
		{`{}`, `{}`},
		{`1.0e1`, `10`},
		{`"tab\there \u0001"`, `"tab\there \u0001"`},
	} {
		got, err := NormalizeJSON(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeJSON(%s) = %s (%v), want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{``, `{`, `[1,]`, `1 2`, `nul`} {
		if got, err := NormalizeJSON(bad); err == nil {
			t.Errorf("NormalizeJSON(%q) = %s, want an error", bad, got)
		}
	}
}

// TestFitNumeric rounds to a declared scale and rejects values too large
// for the declared precision, as Postgres's numeric(p,s) does.
func TestFitNumeric(t *testing.T) {
	typ := Type{Kind: Numeric, Precision: 5, Scale: 2}
	for _, tc := range []struct{ in, want string }{
		{"1.005", "1.01"}, {"-1.005", "-1.01"}, {"12", "12.00"}, {"999.994", "999.99"}, {"0.001", "0.00"},
	} {
		got, err := FitNumeric(decimal.RequireFromString(tc.in), typ)
		if err != nil || FormatNumeric(got) != tc.want {
			t.Errorf("FitNumeric(%s) = %s (%v), want %s", tc.in, FormatNumeric(got), err, tc.want)
		}
	}
	for _, bad := range []string{"999.995", "1000", "-1234.5"} {
		if got, err := FitNumeric(decimal.RequireFromString(bad), typ); err == nil {
			t.Errorf("FitNumeric(%s) = %s, want numeric field overflow", bad, FormatNumeric(got))
		}
	}
}
