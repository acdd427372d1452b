package mcpmsg

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds how deeply arrays and objects nest in one message.
const maxDepth = 128

// maxSafeInteger is the largest integer every JSON reader holds exactly
// (a JavaScript number's 53-bit mantissa).
const maxSafeInteger = 1<<53 - 1

// scanner reads RFC 8259 JSON strictly: UTF-8 only, no lone surrogates,
// no raw control characters, and, in every object, no two member names
// that any common decoder could take for one another. Go's encoding/json
// matches names by Unicode simple case folding and keeps the last match;
// JavaScript's JSON.parse matches them exactly and keeps the last; a
// body where those readings differ is one a gateway cannot judge.
type scanner struct {
	data  []byte
	pos   int
	depth int
	// names holds the member names of the objects being read, innermost
	// last; an object's own start in it is kept on the Go stack.
	names [][]byte
}

func (s *scanner) fail(format string, args ...any) error {
	return &Error{Code: CodeParseError, Message: fmt.Sprintf("not strict JSON at byte %d: ", s.pos) + fmt.Sprintf(format, args...)}
}

// space skips JSON whitespace (RFC 8259 §2: space, tab, LF, CR only).
func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.space()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// expect consumes c after any whitespace.
func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return s.fail("the body ends early, want %q", c)
		}
		return s.fail("want %q", c)
	}
	s.pos++
	return nil
}

// value checks one value of any kind.
func (s *scanner) value() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(func(name []byte) error { return s.value() })
	case c == '[':
		return s.array(func(int) error { return s.value() })
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == 0 && s.pos >= len(s.data):
		return s.fail("the body ends early")
	default:
		return s.fail("unexpected %q", c)
	}
}

func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return s.fail("unexpected %q", s.data[s.pos])
	}
	s.pos += len(word)
	return nil
}

// object reads an object, calling member for each name with the scanner
// at its value; member must read that value.
func (s *scanner) object(member func(name []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested deeper than %d", maxDepth)
	}
	start := len(s.names)
	var folded map[string]bool // for objects with many members
	defer func() { s.names = s.names[:start]; s.depth-- }()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.fail("want a member name")
		}
		name, err := s.str()
		if err != nil {
			return err
		}
		if s.seen(start, &folded, name) {
			return s.fail("the member %q appears twice (names are compared as Go's encoding/json compares them, ignoring case)", name)
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.fail("want ',' or '}'")
		}
	}
}

// smallObject is how many members an object's names are compared one by
// one; past it they go in a map, so a body of many members costs no more
// than a linear read.
const smallObject = 16

// seen reports whether name folds like a name of the object whose names
// start at start, and notes it.
func (s *scanner) seen(start int, folded *map[string]bool, name []byte) bool {
	if *folded == nil {
		for _, prev := range s.names[start:] {
			if bytes.EqualFold(prev, name) {
				return true
			}
		}
		if s.names = append(s.names, name); len(s.names)-start <= smallObject {
			return false
		}
		*folded = make(map[string]bool, 2*smallObject)
		for _, prev := range s.names[start:] {
			(*folded)[fold(prev)] = true
		}
		return false
	}
	k := fold(name)
	if (*folded)[k] {
		return true
	}
	(*folded)[k] = true
	return false
}

// fold maps every rune to the least rune of its simple case folding
// orbit: two names fold alike exactly when bytes.EqualFold holds.
func fold(name []byte) string {
	out := make([]byte, 0, len(name))
	for _, r := range string(name) {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out = utf8.AppendRune(out, least)
	}
	return string(out)
}

// array reads an array, calling elem with the scanner at each element.
func (s *scanner) array(elem func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested deeper than %d", maxDepth)
	}
	defer func() { s.depth-- }()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail("want ',' or ']'")
		}
	}
}

// str reads a string and returns its value: the body's own bytes when it
// has no escapes, else a decoded copy.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.pos
	var out []byte // nil until an escape is met
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if out == nil {
				return s.data[start : s.pos-1], nil
			}
			return out, nil
		case c < 0x20:
			return nil, s.fail("a control character in a string must be escaped")
		case c == '\\':
			if out == nil {
				out = append(make([]byte, 0, s.pos-start+8), s.data[start:s.pos]...)
			}
			var err error
			if out, err = s.escape(out); err != nil {
				return nil, err
			}
		case c < utf8.RuneSelf:
			if out != nil {
				out = append(out, c)
			}
			s.pos++
		default:
			r, n := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && n <= 1 {
				return nil, s.fail("not UTF-8")
			}
			if out != nil {
				out = append(out, s.data[s.pos:s.pos+n]...)
			}
			s.pos += n
		}
	}
	return nil, s.fail("a string does not end")
}

// escape decodes the escape at s.pos onto out. A \u escape of half a
// surrogate pair must be followed by the other half: decoders disagree on
// what a lone one means.
func (s *scanner) escape(out []byte) ([]byte, error) {
	if s.pos+1 >= len(s.data) {
		return nil, s.fail("a string does not end")
	}
	c := s.data[s.pos+1]
	s.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(out, c), nil
	case 'b':
		return append(out, '\b'), nil
	case 'f':
		return append(out, '\f'), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'u':
		r, err := s.hex4()
		if err != nil {
			return nil, err
		}
		if utf16.IsSurrogate(r) {
			if r >= 0xDC00 || !bytes.HasPrefix(s.data[s.pos:], []byte(`\u`)) {
				return nil, s.fail("a lone UTF-16 surrogate")
			}
			s.pos += 2
			lo, err := s.hex4()
			if err != nil {
				return nil, err
			}
			if r = utf16.DecodeRune(r, lo); r == unicode.ReplacementChar {
				return nil, s.fail("a lone UTF-16 surrogate")
			}
		}
		return utf8.AppendRune(out, r), nil
	}
	return nil, s.fail("unknown escape \\%c", c)
}

func (s *scanner) hex4() (rune, error) {
	if s.pos+4 > len(s.data) {
		return 0, s.fail("a short \\u escape")
	}
	v, err := strconv.ParseUint(string(s.data[s.pos:s.pos+4]), 16, 32)
	if err != nil {
		return 0, s.fail("a bad \\u escape")
	}
	s.pos += 4
	return rune(v), nil
}

// number reads a number (RFC 8259 §6) and returns its text.
func (s *scanner) number() ([]byte, error) {
	s.space()
	start := s.pos
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.pos < len(s.data) && s.data[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '0':
		s.pos++
	case digits() == 0:
		return nil, s.fail("a bad number")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return nil, s.fail("a bad number")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return nil, s.fail("a bad number")
		}
	}
	return s.data[start:s.pos], nil
}

// end checks that nothing but whitespace follows the value.
func (s *scanner) end() error {
	if s.space(); s.pos != len(s.data) {
		return s.fail("data after the JSON value")
	}
	return nil
}
