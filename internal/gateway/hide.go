package gateway

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/sse"
)

// maxAnswer bounds one message from the team's server that the gateway
// reads whole (an event, or an answer whose tools it filters).
const maxAnswer = 16 << 20

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
// encoded body cannot be read, so it does not pass.
func hideInResponse(resp *http.Response, allowed func(string) bool) error {
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
			events := sse.NewReader(in, maxAnswer)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1)) // the backend's own answer, read whole to rewrite it
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(body) > 0 {
		body = hideTools(body, allowed)
	}
	replaceBody(resp, body)
	return nil
}

func replaceBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}
