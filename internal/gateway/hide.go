package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/sse"
)

// unjudged replaces an answer that cannot be read strictly: which tools
// it lists cannot be judged, so none of it reaches the client.
var unjudged = (&mcpmsg.Error{Code: mcpmsg.CodeInternalError,
	Message: "the MCP server behind this gateway answered with a message that is not strict JSON-RPC"}).JSON()

// hideTools drops from a message (or batch) the tools of a tools/list
// result that allowed refuses, reading it as strictly as requests are
// read.
func hideTools(msg []byte, allowed func(string) bool) []byte {
	out, err := mcpmsg.FilterTools(msg, allowed)
	if err != nil {
		return unjudged
	}
	return out
}

// hideInResponse filters a backend's answer: an event stream event by
// event as it passes, any other body at once, whatever it says its type
// is (clients read a body as JSON when its type merely mentions it). An
// encoded body cannot be read, so it does not pass; neither does an
// answer or event over limit bytes, which cannot be read whole.
func hideInResponse(resp *http.Response, allowed func(string) bool, limit int, id []byte) error {
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		resp.Body.Close()
		replaceBody(resp, unjudged)
		resp.Header.Del("Content-Encoding")
		return nil
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "text/event-stream") {
		in := resp.Body
		r, w := io.Pipe()
		go func() {
			events := sse.NewReader(in, limit)
			var err error
			for err == nil {
				var e sse.Event
				if e, err = events.Next(); err != nil {
					break
				}
				if !e.IsComment && len(e.Data) > 0 {
					e.Data = hideTools(e.Data, allowed)
				}
				err = sse.Write(w, e)
			}
			in.Close()
			if err == io.EOF {
				err = nil
			}
			w.CloseWithError(err)
		}()
		resp.Body = r
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1)) // the backend's own answer, read whole to rewrite it
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(body) > limit {
		resp.Header.Set("Content-Type", "application/json")
		replaceBody(resp, tooLarge(id, limit))
		return nil
	}
	if len(body) > 0 {
		body = hideTools(body, allowed)
	}
	replaceBody(resp, body)
	return nil
}

// tooLarge answers request id (JSON text; nil for none known) in place of
// an answer over the gateway's message limit.
func tooLarge(id []byte, limit int) []byte {
	return (&mcpmsg.Error{Code: mcpmsg.CodeInternalError, ID: id,
		Message: fmt.Sprintf("the MCP server behind this gateway answered with a message over %d bytes (--max-message-size)", limit)}).JSON()
}

func replaceBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}
