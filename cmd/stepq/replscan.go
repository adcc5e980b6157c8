package main

import (
	"strings"
	"unicode"
)

// scanState is what a lexical scan of REPL input found: bracket depth,
// whether it ends inside a string or backquoted name, and the offsets of
// its top-level semicolons.
type scanState struct {
	depth      int   // open ( [ { not yet closed; negative when more close than open
	openString bool  // ends inside "..." or `...`
	semis      []int // offsets of ; outside strings, comments and brackets
	lastCode   int   // offset just past the last character that is not blank or comment
}

// scan reads text as the language's lexer would, far enough to know
// where strings, backquoted names and comments are.
func scan(text string) scanState {
	var st scanState
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			continue
		case c == '"' || c == '`':
			j := i + 1
			for j < len(text) && text[j] != c && text[j] != '\n' {
				if c == '"' && text[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(text) || text[j] == '\n' {
				st.openString = true
				st.lastCode = len(strings.TrimRight(text, " \t\r\n"))
				return st
			}
			i = j
		case c == '(' || c == '[' || c == '{':
			st.depth++
		case c == ')' || c == ']' || c == '}':
			st.depth--
		case c == ';' && st.depth == 0:
			st.semis = append(st.semis, i)
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			st.lastCode = i + 1
		}
	}
	return st
}

// span is a byte range [start, end) of a statement's text.
type span struct{ start, end int }

func (s span) of(text string) string { return text[s.start:s.end] }

// trimSpan narrows a span to exclude surrounding blanks.
func trimSpan(text string, s span) span {
	for s.start < s.end && isBlank(text[s.start]) {
		s.start++
	}
	for s.end > s.start && isBlank(text[s.end-1]) {
		s.end--
	}
	return s
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// splitTop splits text[s] at the separator byte sep where it appears
// outside strings, comments and brackets, trimming blanks from each part.
func splitTop(text string, s span, sep byte) []span {
	var out []span
	depth, start := 0, s.start
	for i := s.start; i < s.end; i++ {
		c := text[i]
		switch {
		case c == '#':
			for i < s.end && text[i] != '\n' {
				i++
			}
		case c == '"' || c == '`':
			for i++; i < s.end && text[i] != c; i++ {
				if c == '"' && text[i] == '\\' {
					i++
				}
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == sep && depth == 0:
			out = append(out, trimSpan(text, span{start, i}))
			start = i + 1
		}
	}
	return append(out, trimSpan(text, span{start, s.end}))
}

// findWord returns the offset of the first top-level occurrence of the
// whole word w in text[s], or -1.
func findWord(text string, s span, w string) int {
	depth := 0
	for i := s.start; i < s.end; i++ {
		c := text[i]
		switch {
		case c == '#':
			for i < s.end && text[i] != '\n' {
				i++
			}
		case c == '"' || c == '`':
			for i++; i < s.end && text[i] != c; i++ {
				if c == '"' && text[i] == '\\' {
					i++
				}
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth == 0 && strings.HasPrefix(text[i:s.end], w) &&
			(i == 0 || !isWordByte(text[i-1])) && (i+len(w) == len(text) || !isWordByte(text[i+len(w)])):
			return i
		}
	}
	return -1
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || unicode.IsLetter(rune(c))
}

// words reads a statement's leading tokens: identifiers (plain or
// backquoted) and single punctuation, skipping blanks and comments.
type tokenizer struct {
	text string
	pos  int
}

// next returns the next token and its start, "" at the end. A backquoted
// name is returned with its quotes.
func (t *tokenizer) next() (string, int) {
	for t.pos < len(t.text) {
		c := t.text[t.pos]
		if isBlank(c) {
			t.pos++
			continue
		}
		if c == '#' {
			for t.pos < len(t.text) && t.text[t.pos] != '\n' {
				t.pos++
			}
			continue
		}
		break
	}
	if t.pos >= len(t.text) {
		return "", t.pos
	}
	start := t.pos
	c := t.text[t.pos]
	switch {
	case c == '`':
		end := strings.IndexByte(t.text[start+1:], '`')
		if end < 0 {
			t.pos = len(t.text)
		} else {
			t.pos = start + end + 2
		}
	case isWordByte(c):
		for t.pos < len(t.text) && isWordByte(t.text[t.pos]) {
			t.pos++
		}
	default:
		t.pos++
	}
	return t.text[start:t.pos], start
}

// unquote returns the name a token denotes: a backquoted name without
// its quotes.
func unquote(tok string) string {
	if len(tok) >= 2 && tok[0] == '`' && tok[len(tok)-1] == '`' {
		return tok[1 : len(tok)-1]
	}
	return tok
}

// quote writes a name so the language reads it back as that name,
// whatever it is.
func quote(name string) string { return "`" + name + "`" }

// isName reports whether tok is an identifier or a backquoted name.
func isName(tok string) bool {
	if tok == "" {
		return false
	}
	if tok[0] == '`' {
		return len(tok) >= 2 && tok[len(tok)-1] == '`'
	}
	return isWordByte(tok[0]) && !(tok[0] >= '0' && tok[0] <= '9')
}
