package stdlib

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
)

func init() {
	register(&Func{
		Name: "split_part", Signature: "split_part(s text, delimiter text, n int) text", Strict: true,
		Doc:   "The nth field of s split at delimiter, counting from 1; a negative n counts from the end (-1 is the last field); \"\" past the fields; n = 0 is an error.",
		Check: fixed("split_part", types.Text, types.Text, types.Text, types.Int4),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return SplitPart(a[0].(string), a[1].(string), a[2].(int64)) }
		},
	})
	register(&Func{
		Name: "concat", Signature: "concat(args...) text",
		Doc: "The text forms of the arguments joined, NULLs left out; never NULL.",
		Check: func(args []types.Type) (types.Type, error) {
			return types.Of(types.Text), nil
		},
		Bind: func(ts []types.Type) Impl {
			return func(a []any) (any, error) {
				var b strings.Builder
				for i, v := range a {
					b.WriteString(types.Format(v, ts[i]))
				}
				return b.String(), nil
			}
		},
	})
	substring := func(name string) *Func {
		return &Func{
			Name: name, Signature: name + "(s text, start int4 [, count int4]) text", Strict: true,
			Doc:   "The characters of s from position start (counting from 1), count of them or all the rest.",
			Check: fixedOpt(name, types.Text, 2, types.Text, types.Int4, types.Int4),
			Bind: func([]types.Type) Impl {
				return func(a []any) (any, error) {
					count := int64(-1)
					if len(a) == 3 {
						if count = a[2].(int64); count < 0 {
							return nil, fmt.Errorf("negative substring length not allowed")
						}
					}
					return Substring(a[0].(string), a[1].(int64), count), nil
				}
			},
		}
	}
	register(substring("substring"))
	register(substring("substr"))
	register(&Func{
		Name: "position", Signature: "position(sub text in s text) int4", Strict: true,
		Doc:   "The position of the first occurrence of sub in s, counting characters from 1; 0 when there is none.",
		Check: fixed("position", types.Int4, types.Text, types.Text),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return strpos(a[1].(string), a[0].(string)), nil }
		},
	})
	register(&Func{
		Name: "strpos", Signature: "strpos(s text, sub text) int4", Strict: true,
		Doc:   "position(sub in s).",
		Check: fixed("strpos", types.Int4, types.Text, types.Text),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return strpos(a[0].(string), a[1].(string)), nil }
		},
	})
	register(&Func{
		Name: "replace", Signature: "replace(s text, from text, to text) text", Strict: true,
		Doc:   "s with every occurrence of from replaced by to.",
		Check: fixed("replace", types.Text, types.Text, types.Text, types.Text),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				if a[1].(string) == "" {
					return a[0], nil
				}
				return strings.ReplaceAll(a[0].(string), a[1].(string), a[2].(string)), nil
			}
		},
	})
	for _, tr := range []struct {
		name, doc string
		f         func(s, cut string) string
	}{
		{"trim", "s without the characters of chars (default a space) at either end.", strings.Trim},
		{"btrim", "trim(s [, chars]).", strings.Trim},
		{"ltrim", "s without the characters of chars (default a space) at its start.", strings.TrimLeft},
		{"rtrim", "s without the characters of chars (default a space) at its end.", strings.TrimRight},
	} {
		register(&Func{
			Name: tr.name, Signature: tr.name + "(s text [, chars text]) text", Strict: true, Doc: tr.doc,
			Check: fixedOpt(tr.name, types.Text, 1, types.Text, types.Text),
			Bind: func([]types.Type) Impl {
				return func(a []any) (any, error) {
					cut := " "
					if len(a) == 2 {
						cut = a[1].(string)
					}
					return tr.f(a[0].(string), cut), nil
				}
			},
		})
	}
	register(&Func{
		Name: "starts_with", Signature: "starts_with(s text, prefix text) bool", Strict: true,
		Doc:   "Whether s starts with prefix.",
		Check: fixed("starts_with", types.Bool, types.Text, types.Text),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return strings.HasPrefix(a[0].(string), a[1].(string)), nil }
		},
	})
	register(&Func{
		Name: "string_to_array", Signature: "string_to_array(s text, sep text?) text[]",
		Doc: "s split at each sep; a NULL sep splits it into characters, an empty s gives an empty array.",
		Check: func(args []types.Type) (types.Type, error) {
			if _, err := fixed("string_to_array", types.Text, types.Text, types.Text)(args); err != nil {
				return types.Type{}, err
			}
			t := types.ArrayOf(types.Of(types.Text))
			t.Nullable = args[0].Nullable
			return t, nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				if a[0] == nil {
					return nil, nil
				}
				return stringToArray(a[0].(string), a[1]), nil
			}
		},
	})
	register(&Func{
		Name: "regexp_like", Signature: "regexp_like(s text, pattern text [, flags text]) bool", Strict: true,
		Doc:      "Whether the regular expression pattern matches part of s; flag i ignores case.",
		Check:    fixedOpt("regexp_like", types.Bool, 2, types.Text, types.Text, types.Text),
		Validate: validateRegexp(1, 2),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				re, _, err := compileRegexp(a[1].(string), optional(a, 2))
				if err != nil {
					return nil, err
				}
				return re.MatchString(a[0].(string)), nil
			}
		},
	})
	register(&Func{
		Name: "regexp_match", Signature: "regexp_match(s text, pattern text [, flags text]) text[]?", Strict: true,
		Doc: "The captured groups of the first match of pattern in s (the whole match when it has no group), NULL when none.",
		Check: func(args []types.Type) (types.Type, error) {
			if _, err := fixedOpt("regexp_match", types.Text, 2, types.Text, types.Text, types.Text)(args); err != nil {
				return types.Type{}, err
			}
			return types.ArrayOf(types.Of(types.Text).OrNull()).OrNull(), nil
		},
		Validate: validateRegexp(1, 2),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				re, global, err := compileRegexp(a[1].(string), optional(a, 2))
				if err != nil {
					return nil, err
				}
				if global {
					return nil, fmt.Errorf("regexp_match does not support the \"global\" option")
				}
				return regexpMatch(re, a[0].(string)), nil
			}
		},
	})
	register(&Func{
		Name: "regexp_substr", Signature: "regexp_substr(s text, pattern text [, start int [, n int [, flags text [, group int]]]]) text?", Strict: true,
		Doc: "The nth match (1 by default) of pattern in s from character start (1 by default), or its group-th captured group (0, the default, is the whole match); NULL when there is none.",
		Check: func(args []types.Type) (types.Type, error) {
			if _, err := fixedOpt("regexp_substr", types.Text, 2, types.Text, types.Text, types.Int4, types.Int4, types.Text, types.Int4)(args); err != nil {
				return types.Type{}, err
			}
			return types.Of(types.Text).OrNull(), nil
		},
		Validate: validateRegexp(1, 4),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				flags := ""
				if len(a) > 4 {
					flags = a[4].(string)
				}
				re, global, err := compileRegexp(a[1].(string), flags)
				if err != nil {
					return nil, err
				}
				if global {
					return nil, fmt.Errorf("regexp_substr does not support the \"global\" option")
				}
				start, n, group := int64(1), int64(1), int64(0)
				if len(a) > 2 {
					start = a[2].(int64)
				}
				if len(a) > 3 {
					n = a[3].(int64)
				}
				if len(a) > 5 {
					group = a[5].(int64)
				}
				return regexpSubstr(re, a[0].(string), start, n, group)
			}
		},
	})
	register(&Func{
		Name: "regexp_replace", Signature: "regexp_replace(s text, pattern text, replacement text [, flags text]) text", Strict: true,
		Doc:      `s with the first match of pattern (every match with flag g) replaced; \1 to \9 insert groups, \& the whole match.`,
		Check:    fixedOpt("regexp_replace", types.Text, 3, types.Text, types.Text, types.Text, types.Text),
		Validate: validateRegexp(1, 3),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				re, global, err := compileRegexp(a[1].(string), optional(a, 3))
				if err != nil {
					return nil, err
				}
				return regexpReplace(re, a[0].(string), a[2].(string), global), nil
			}
		},
	})
}

// validateRegexp checks a constant pattern (argument p) with its constant
// flags (argument f, when given).
func validateRegexp(p, f int) func([]any, []types.Type) error {
	return func(consts []any, _ []types.Type) error {
		pattern, ok := consts[p].(string)
		if !ok || f < len(consts) && consts[f] == nil {
			return nil
		}
		_, _, err := compileRegexp(pattern, optional(consts, f))
		return err
	}
}

func optional(a []any, i int) string {
	if i < len(a) {
		return a[i].(string)
	}
	return ""
}

// Substring is Postgres's substring(s from start for count): the
// characters at positions start to start+count-1 that exist (positions
// count from 1, and may start before it); count < 0 means all the rest.
func Substring(s string, start, count int64) string {
	runes := []rune(s)
	end := int64(len(runes)) + 1
	if count >= 0 && start+count < end {
		end = start + count
	}
	from := max(start, 1)
	if from >= end {
		return ""
	}
	return string(runes[from-1 : end-1])
}

func strpos(s, sub string) int64 {
	i := strings.Index(s, sub)
	if i < 0 {
		return 0
	}
	return int64(utf8.RuneCountInString(s[:i]) + 1)
}

func stringToArray(s string, sep any) []any {
	var parts []string
	switch {
	case s == "":
	case sep == nil:
		for _, r := range s {
			parts = append(parts, string(r))
		}
	case sep.(string) == "":
		parts = []string{s}
	default:
		parts = strings.Split(s, sep.(string))
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// patternCache keeps compiled patterns by their text, as most calls
// repeat one pattern. It is safe for concurrent use, and bounded: when
// full it starts again empty, so patterns that vary by row cost a compile
// each but no memory.
type patternCache[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

const patternCacheSize = 256

func (c *patternCache[V]) get(key string, compile func() (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := compile()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= patternCacheSize {
		c.m = map[string]V{}
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

type cachedRegexp struct {
	re     *regexp.Regexp
	global bool
}

var regexpCache patternCache[cachedRegexp]

// compileRegexp compiles a pattern with Postgres's flags i (ignore case)
// and g (every match). Patterns use Go's RE2 syntax, which agrees with
// Postgres's for the common constructs (classes, groups, alternation,
// repetition, anchors); back-references and lookaround are not supported.
func compileRegexp(pattern, flags string) (*regexp.Regexp, bool, error) {
	c, err := regexpCache.get(flags+"\x00"+pattern, func() (cachedRegexp, error) {
		return newRegexp(pattern, flags)
	})
	return c.re, c.global, err
}

func newRegexp(pattern, flags string) (cachedRegexp, error) {
	prefix, global := "", false
	for _, f := range flags {
		switch f {
		case 'i':
			prefix = "(?i)"
		case 'c':
			prefix = ""
		case 'g':
			global = true
		default:
			return cachedRegexp{}, fmt.Errorf("invalid regular expression option: %q", f)
		}
	}
	re, err := regexp.Compile(prefix + pattern)
	if err != nil {
		return cachedRegexp{}, fmt.Errorf("invalid regular expression: %w", err)
	}
	return cachedRegexp{re, global}, nil
}

func regexpMatch(re *regexp.Regexp, s string) any {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return nil
	}
	if len(m) == 2 {
		return []any{s[m[0]:m[1]]}
	}
	out := make([]any, len(m)/2-1)
	for i := range out {
		if a, b := m[2*i+2], m[2*i+3]; a >= 0 {
			out[i] = s[a:b]
		}
	}
	return out
}

// regexpSubstr is regexp_substr: the nth match of re in s from the
// character at start, or its group; NULL when there is none.
func regexpSubstr(re *regexp.Regexp, s string, start, n, group int64) (any, error) {
	switch {
	case start < 1:
		return nil, fmt.Errorf("regexp_substr: invalid value for parameter \"start\": %d", start)
	case n < 1:
		return nil, fmt.Errorf("regexp_substr: invalid value for parameter \"n\": %d", n)
	case group < 0:
		return nil, fmt.Errorf("regexp_substr: invalid value for parameter \"subexpr\": %d", group)
	}
	from := 0 // the byte where character start is
	for i := int64(1); i < start; i++ {
		if from >= len(s) {
			return nil, nil
		}
		_, size := utf8.DecodeRuneInString(s[from:])
		from += size
	}
	matches := re.FindAllStringSubmatchIndex(s[from:], int(n))
	if int64(len(matches)) < n || group > int64(re.NumSubexp()) {
		return nil, nil
	}
	m := matches[n-1]
	if a, b := m[2*group], m[2*group+1]; a >= 0 {
		return s[from+a : from+b], nil
	}
	return nil, nil
}

// regexpReplace replaces the first match (every match when global),
// expanding Postgres's \1..\9, \& and \\ in the replacement.
func regexpReplace(re *regexp.Regexp, s, repl string, global bool) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		expandReplacement(&b, s, repl, m)
		last = m[1]
		if !global {
			break
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

func expandReplacement(b *strings.Builder, s, repl string, m []int) {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 == len(repl) {
			b.WriteByte(c)
			continue
		}
		i++
		switch n := repl[i]; {
		case n >= '1' && n <= '9':
			if g := int(n - '0'); 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(s[m[2*g]:m[2*g+1]])
			}
		case n == '&':
			b.WriteString(s[m[0]:m[1]])
		case n == '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(n)
		}
	}
}

// LikeMatcher compiles a LIKE pattern: % matches any sequence of
// characters, _ any one, and a backslash makes the next character match
// itself. With fold, case is ignored (ILIKE).
func LikeMatcher(pattern string, fold bool) (func(string) bool, error) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	if fold {
		b.WriteString(`(?i)`)
	}
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		case '\\':
			if i == len(pattern) {
				return nil, fmt.Errorf("LIKE pattern must not end with escape character")
			}
			r, n = utf8.DecodeRuneInString(pattern[i:])
			i += n
			b.WriteString(regexp.QuoteMeta(string(r)))
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

// Like returns the implementation of x op y on two non-null texts, op
// being lang.Like, lang.ILike, lang.NotLike or lang.NotILike.
func Like(op lang.Op) func(x, y any) (any, error) {
	fold := op == lang.ILike || op == lang.NotILike
	negate := op == lang.NotLike || op == lang.NotILike
	var cache patternCache[func(string) bool]
	return func(x, y any) (any, error) {
		pattern := y.(string)
		match, err := cache.get(pattern, func() (func(string) bool, error) { return LikeMatcher(pattern, fold) })
		if err != nil {
			return nil, err
		}
		return match(x.(string)) != negate, nil
	}
}

// SplitPart is split_part(s, delimiter, n), as Postgres computes it: an
// empty delimiter makes s its one field, and an empty s has none.
func SplitPart(s, delimiter string, n int64) (string, error) {
	if n == 0 {
		return "", errors.New("split_part: field position must not be zero")
	}
	if s == "" {
		return "", nil
	}
	fields := []string{s}
	if delimiter != "" {
		fields = strings.Split(s, delimiter)
	}
	i := n - 1
	if n < 0 {
		i = int64(len(fields)) + n
	}
	if i < 0 || i >= int64(len(fields)) {
		return "", nil
	}
	return fields[i], nil
}
