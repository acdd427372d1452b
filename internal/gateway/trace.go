package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// metaTraceparent is the _meta key MCP 2026-07-28 carries W3C trace
// context in, for transports without headers and servers that read it
// from the message.
const metaTraceparent = "traceparent"

// withTraceparent returns body with tp as params._meta.traceparent when
// body is one 2026-07-28 request (its _meta names the protocol version);
// otherwise body as it is. It only inserts the member at the end of
// _meta, so every byte the resource server judged is still there, and
// being last it is the one both Go and JavaScript readers take.
func withTraceparent(body *mcpmsg.Body, tp string) []byte {
	if body == nil || tp == "" || body.Batch || len(body.Messages) != 1 {
		return rawOf(body)
	}
	m := body.Messages[0]
	if m.Kind != mcpmsg.KindRequest || m.ProtocolVersion < mcpmsg.FirstStatelessVersion {
		return body.Raw
	}
	end, ok := metaEnd(body.Raw)
	if !ok {
		return body.Raw
	}
	member := []byte(`,` + strconv.Quote(metaTraceparent) + `:` + strconv.Quote(tp))
	if bytes.HasSuffix(bytes.TrimRight(body.Raw[:end], " \t\r\n"), []byte("{")) {
		member = member[1:] // an empty _meta
	}
	out := make([]byte, 0, len(body.Raw)+len(member))
	out = append(append(append(out, body.Raw[:end]...), member...), body.Raw[end:]...)
	return out
}

func rawOf(body *mcpmsg.Body) []byte {
	if body == nil {
		return nil
	}
	return body.Raw
}

// metaEnd is the offset of the closing brace of params._meta in a
// JSON-RPC message: of the last "params" member's last "_meta" member,
// the ones readers act on.
func metaEnd(raw []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var path []string // keys of the objects we are in
	var key string    // the member name just read, at each object level
	expectKey := false
	end, found := 0, false
	var stack []bool // for each open container: is it an object
	for {
		tok, err := dec.Token()
		if err != nil {
			return end, found
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) > 0 && stack[len(stack)-1] {
					path = append(path, key)
				} else if len(stack) > 0 {
					path = append(path, "")
				}
				stack = append(stack, t == '{')
				expectKey = t == '{'
				continue
			case '}', ']':
				if t == '}' && len(path) == 2 && path[0] == "params" && path[1] == "_meta" && len(stack) == 3 {
					end, found = int(dec.InputOffset())-1, true
				}
				stack = stack[:len(stack)-1]
				if len(path) > 0 && len(stack) > 0 {
					path = path[:len(path)-1]
				}
			}
		case string:
			if expectKey {
				key = t
				expectKey = false
				continue
			}
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1]
	}
}
