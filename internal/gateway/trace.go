package gateway

import (
	"bytes"
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
	end := m.MetaEnd // found by the strict reading the policies judged
	if end == 0 {
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
