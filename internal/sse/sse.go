// Package sse reads and writes Server-Sent Events (the event stream
// format of the WHATWG HTML standard, §9.2), as MCP's HTTP transports
// carry messages: a reader that assembles each event from all its fields
// (a message may span several data lines), so that what is judged is the
// event a client will see.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Event is one event, or one comment line.
type Event struct {
	Name  string // the event field; "" is "message"
	ID    string
	HasID bool
	Retry string
	Data  []byte
	// Comment is a comment line's text (a keep-alive); such an Event has
	// no other fields.
	Comment   []byte
	IsComment bool
}

// ErrTooLong is a line or an event longer than the reader takes.
var ErrTooLong = errors.New("sse: an event is longer than the limit")

// Reader reads events.
type Reader struct {
	br   *bufio.Reader
	max  int
	line []byte
}

// NewReader reads events of at most max bytes from r.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the next event or comment. A stream that ends mid-event
// ends with io.EOF (or io.ErrUnexpectedEOF), the half event dropped, as
// the standard says.
func (r *Reader) Next() (Event, error) {
	var e Event
	var data bytes.Buffer
	seen := false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && seen {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !seen {
				continue
			}
			e.Data = bytes.TrimSuffix(data.Bytes(), []byte{'\n'})
			return e, nil
		}
		field, value, found := bytes.Cut(line, []byte{':'})
		if found && len(field) == 0 {
			if seen { // a comment amid an event's fields: skip it
				continue
			}
			return Event{Comment: append([]byte(nil), value...), IsComment: true}, nil
		}
		value = bytes.TrimPrefix(value, []byte{' '})
		seen = true
		switch string(field) {
		case "event":
			e.Name = string(value)
		case "data":
			if data.Len()+len(value) > r.max {
				return Event{}, ErrTooLong
			}
			data.Write(value)
			data.WriteByte('\n')
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				e.ID, e.HasID = string(value), true
			}
		case "retry":
			e.Retry = string(value)
		}
	}
}

// readLine reads one line without its end (CRLF, LF or CR).
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(r.line) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch b {
		case '\n':
			return r.line, nil
		case '\r':
			if next, err := r.br.Peek(1); err == nil && next[0] == '\n' {
				r.br.ReadByte()
			}
			return r.line, nil
		}
		if len(r.line) >= r.max {
			return nil, ErrTooLong
		}
		r.line = append(r.line, b)
	}
}

// Write writes e: its fields, then its data, a line per line of it.
func Write(w io.Writer, e Event) error {
	var b bytes.Buffer
	if e.IsComment {
		b.WriteByte(':')
		b.Write(e.Comment)
		b.WriteString("\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	if e.Name != "" {
		b.WriteString("event: " + e.Name + "\n")
	}
	if e.HasID {
		b.WriteString("id: " + e.ID + "\n")
	}
	if e.Retry != "" {
		b.WriteString("retry: " + e.Retry + "\n")
	}
	for _, line := range bytes.Split(e.Data, []byte{'\n'}) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
