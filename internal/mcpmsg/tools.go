package mcpmsg

import "bytes"

// FilterTools reads a server's message (or batch) with the same strict
// rules as a request and drops, from every result that lists tools, the
// tools keep refuses: a tool without a string name is dropped too. The
// rest of the message keeps its bytes. A message that cannot be read
// strictly is an error: what it lists cannot be judged.
func FilterTools(msg []byte, keep func(name string) bool) ([]byte, error) {
	if bytes.HasPrefix(msg, []byte("\xef\xbb\xbf")) {
		return nil, invalid(CodeParseError, "a byte-order mark")
	}
	s := &scanner{data: msg}
	f := &toolFilter{s: s, keep: keep}
	var err error
	if s.peek() == '[' {
		err = s.array(func(int) error { return f.message() })
	} else {
		err = f.message()
	}
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	if len(f.edits) == 0 {
		return msg, nil
	}
	out := make([]byte, 0, len(msg))
	at := 0
	for _, e := range f.edits {
		out = append(out, msg[at:e.start]...)
		out = append(out, e.with...)
		at = e.end
	}
	return append(out, msg[at:]...), nil
}

type edit struct {
	start, end int
	with       []byte
}

type toolFilter struct {
	s     *scanner
	keep  func(string) bool
	edits []edit
}

func (f *toolFilter) message() error {
	s := f.s
	if s.peek() != '{' {
		return s.value() // not a message: the client will say so
	}
	return s.object(func(name []byte) error {
		if string(name) == "result" && s.peek() == '{' {
			return f.result()
		}
		if err := misspelled(name, []string{"result"}); err != nil {
			return err
		}
		return s.value()
	})
}

func (f *toolFilter) result() error {
	s := f.s
	return s.object(func(name []byte) error {
		if string(name) == "tools" && s.peek() == '[' {
			return f.tools()
		}
		if err := misspelled(name, []string{"tools"}); err != nil {
			return err
		}
		return s.value()
	})
}

// tools reads a list of tools, noting the kept ones' bytes, and replaces
// the list when it dropped any.
func (f *toolFilter) tools() error {
	s := f.s
	start := s.pos
	var kept [][]byte
	dropped := false
	err := s.array(func(int) error {
		s.space()
		from := s.pos
		name, ok, err := f.toolName()
		if err != nil {
			return err
		}
		if ok && f.keep(name) {
			kept = append(kept, s.data[from:s.pos])
		} else {
			dropped = true
		}
		return nil
	})
	if err != nil || !dropped {
		return err
	}
	list := append([]byte{'['}, bytes.Join(kept, []byte{','})...)
	f.edits = append(f.edits, edit{start: start, end: s.pos, with: append(list, ']')})
	return nil
}

// toolName reads one tool and returns its name, if it has one.
func (f *toolFilter) toolName() (string, bool, error) {
	s := f.s
	if s.peek() != '{' {
		return "", false, s.value()
	}
	var name string
	var ok bool
	err := s.object(func(member []byte) error {
		if string(member) == "name" && s.peek() == '"' {
			v, err := s.str()
			name, ok = string(v), err == nil
			return err
		}
		if err := misspelled(member, []string{"name"}); err != nil {
			return err
		}
		return s.value()
	})
	return name, ok, err
}
