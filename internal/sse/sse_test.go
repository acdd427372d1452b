package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/sse"
)

// An event is assembled from all its fields, whatever the line ends: a
// message split over several data lines is one message.
func TestReader_AssemblesEvents(t *testing.T) {
	stream := ": keep-alive\n" +
		"event: message\nid: 7\ndata: {\"a\":\ndata:  1}\n\n" +
		"data:x\r\n\r\n" +
		"data: y\r\rretry: 10\ndata\n\n" +
		"event: endpoint\n: a comment inside\ndata: /messages?s=1\n\n" +
		"data: never ended"
	r := sse.NewReader(strings.NewReader(stream), 1<<10)
	want := []sse.Event{
		{Comment: []byte(" keep-alive"), IsComment: true},
		{Name: "message", ID: "7", HasID: true, Data: []byte("{\"a\":\n 1}")},
		{Data: []byte("x")},
		{Data: []byte("y")},
		{Retry: "10", Data: []byte("")},
		{Name: "endpoint", Data: []byte("/messages?s=1")},
	}
	for i, w := range want {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if e.Name != w.Name || e.ID != w.ID || e.HasID != w.HasID || e.Retry != w.Retry || !bytes.Equal(e.Data, w.Data) ||
			e.IsComment != w.IsComment || !bytes.Equal(e.Comment, w.Comment) {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a half event at the end: %v", err)
	}
}

// Writing an event and reading it back gives the same event.
func TestWrite_RoundTrips(t *testing.T) {
	var b bytes.Buffer
	in := sse.Event{Name: "message", ID: "3", HasID: true, Data: []byte("line one\nline two")}
	if err := sse.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := sse.NewReader(&b, 1<<10).Next()
	if err != nil || out.Name != in.Name || out.ID != in.ID || !bytes.Equal(out.Data, in.Data) {
		t.Fatalf("read back %+v, %v", out, err)
	}
}

// A line or an event past the limit ends the reading.
func TestReader_Limit(t *testing.T) {
	if _, err := sse.NewReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50).Next(); !errors.Is(err, sse.ErrTooLong) {
		t.Fatalf("a long line: %v", err)
	}
	if _, err := sse.NewReader(strings.NewReader(strings.Repeat("data: xxxx\n", 20)+"\n"), 50).Next(); !errors.Is(err, sse.ErrTooLong) {
		t.Fatalf("a long event: %v", err)
	}
}
