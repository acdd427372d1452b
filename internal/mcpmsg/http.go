package mcpmsg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Streamable HTTP request headers (MCP 2025-11-25 and 2026-07-28).
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = "Mcp-Protocol-Version"
	HeaderMethod          = "Mcp-Method"
	HeaderName            = "Mcp-Name"
)

// Allow is the methods an MCP endpoint answers: POST carries messages,
// GET opens a session's stream and DELETE ends a session (2025-11-25).
const Allow = "GET, POST, DELETE"

// FirstStatelessVersion is the first protocol revision without sessions,
// whose requests carry their version in _meta and mirror their method
// and target in headers.
const FirstStatelessVersion = "2026-07-28"

// singleHeaders may appear once: two of them are two readings.
var singleHeaders = []string{HeaderSessionID, HeaderProtocolVersion, HeaderMethod, HeaderName, "Content-Type", "Content-Encoding"}

// CheckRequest judges what a request is before its body is read: only
// POST carries messages (anything else but GET and DELETE is 405, with
// Allow); GET and DELETE carry no body; no header the transport reads
// appears twice.
func CheckRequest(r *http.Request) *Error {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodDelete:
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: r.Method + " carries no body; send messages with POST"}
		}
	default:
		return &Error{Status: http.StatusMethodNotAllowed, Code: CodeInvalidRequest, Message: r.Method + " is not an MCP method: messages are sent with POST"}
	}
	for _, name := range singleHeaders {
		if len(r.Header.Values(name)) > 1 {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "the " + name + " header appears more than once"}
		}
	}
	return nil
}

// ReadBody reads a POST's body, at most limit bytes, after checking that
// it is what MCP sends: application/json in UTF-8, not compressed. A
// body in another charset or encoding is one the server behind might
// decode differently.
func ReadBody(r *http.Request, limit int64) ([]byte, *Error) {
	if ct := r.Header.Get("Content-Type"); !IsJSON(ct) {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalidRequest,
			Message: fmt.Sprintf("the body must be Content-Type application/json in UTF-8, not %q", ct)}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalidRequest,
			Message: fmt.Sprintf("the body must not be encoded (Content-Encoding %q)", ce)}
	}
	defer r.Body.Close()
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= presized && n <= limit {
		// In one allocation when the client said it is small; a larger
		// claimed length is grown into as it arrives, so a length claimed
		// and never sent reserves nothing.
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	switch {
	case err != nil:
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeParseError, Message: "the body could not be read"}
	case int64(len(body)) > limit:
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeInvalidRequest,
			Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	}
	return body, nil
}

// presized is the largest body read into memory of its claimed size.
const presized = 64 << 10

// IsJSON reports whether a Content-Type is application/json with no
// parameter but charset=utf-8.
func IsJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// CheckHeaders judges a body against the headers that mirror it (MCP
// 2026-07-28, Streamable HTTP "Server Validation"): Mcp-Method and
// Mcp-Name, when present, must say what the body says; a request of the
// stateless revision must carry them, and its MCP-Protocol-Version must
// be the one its _meta names. Whatever routed or counted by the headers
// then saw what the server behind runs.
func CheckHeaders(h http.Header, b *Body) *Error {
	method, hasMethod := header(h, HeaderMethod)
	name, hasName := header(h, HeaderName)
	version, hasVersion := header(h, HeaderProtocolVersion)
	if !hasMethod && !hasName && !stateless(version) && !b.carriesVersion() {
		return nil // a 2025 request: nothing mirrored
	}
	if b.Batch {
		return mismatch(nil, "a %s request is one message, not a batch", FirstStatelessVersion)
	}
	m := &b.Messages[0]
	if hasName {
		v, err := decodeName(name)
		if err != nil {
			return mismatch(m.ID, "the %s header: %v", HeaderName, err)
		}
		name = v
	}
	switch {
	case hasMethod && method != m.Method:
		return mismatch(m.ID, "the %s header says %q, the body %q", HeaderMethod, method, m.Method)
	case hasName && name != m.target():
		return mismatch(m.ID, "the %s header says %q, the body %q", HeaderName, name, m.target())
	case m.ProtocolVersion != "" && m.ProtocolVersion != version:
		return mismatch(m.ID, "the %s header says %q, the body's _meta %q", HeaderProtocolVersion, version, m.ProtocolVersion)
	case m.Kind != KindRequest:
		return nil // the revision sets no header rules for notifications
	case !hasVersion:
		return mismatch(m.ID, "a %s request needs the %s header", FirstStatelessVersion, HeaderProtocolVersion)
	case m.ProtocolVersion == "":
		return mismatch(m.ID, "a %s request names its protocol version in params._meta[%q]", version, MetaProtocolVersion)
	case !hasMethod:
		return mismatch(m.ID, "a %s request needs the %s header", version, HeaderMethod)
	case !hasName && m.target() != "" && m.Method != MethodCompletion:
		return mismatch(m.ID, "a %s request for %s needs the %s header", version, m.Method, HeaderName)
	}
	return nil
}

// target is what Mcp-Name mirrors: params.name or params.uri.
func (m *Message) target() string {
	switch m.Method {
	case MethodToolsCall:
		return m.Tool
	case MethodPromptsGet:
		return m.Prompt
	case MethodResourcesRead, MethodResourcesSub, MethodResourcesUnsub:
		return m.Resource
	}
	return ""
}

func (b *Body) carriesVersion() bool {
	for i := range b.Messages {
		if b.Messages[i].ProtocolVersion != "" {
			return true
		}
	}
	return false
}

// stateless reports whether a protocol version is 2026-07-28 or later
// (versions are dates, YYYY-MM-DD).
func stateless(version string) bool {
	return len(version) == len(FirstStatelessVersion) && version >= FirstStatelessVersion
}

// header is a header's value and whether it was sent; a value outside
// visible ASCII counts as sent and matches nothing.
func header(h http.Header, name string) (string, bool) {
	vs := h.Values(name)
	if len(vs) == 0 {
		return "", false
	}
	for _, c := range []byte(vs[0]) {
		if c < 0x20 && c != '\t' || c > 0x7e {
			return "\x00", true
		}
	}
	return vs[0], true
}

// decodeName reads Mcp-Name: plain, or =?base64?…?= for a value that is
// not plain ASCII (Streamable HTTP "Value Encoding").
func decodeName(v string) (string, error) {
	inner, ok := strings.CutPrefix(v, "=?base64?")
	if !ok {
		return v, nil
	}
	inner, ok = strings.CutSuffix(inner, "?=")
	if !ok {
		return "", errors.New("an encoded value ends with ?=")
	}
	raw, err := base64.StdEncoding.DecodeString(inner)
	if err != nil {
		return "", errors.New("the encoded value is not base64")
	}
	return string(raw), nil
}

func mismatch(id []byte, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeHeaderMismatch, Message: "header mismatch: " + fmt.Sprintf(format, args...), ID: id}
}

// Write answers with e as a JSON-RPC error (its id, or null).
func (e *Error) Write(w http.ResponseWriter) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	h := w.Header()
	if status == http.StatusMethodNotAllowed {
		h.Set("Allow", Allow)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(e.JSON())
}

// JSON is e as a JSON-RPC error response.
func (e *Error) JSON() []byte {
	id := e.ID
	if len(id) == 0 {
		id = []byte("null")
	}
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(id)
	b.WriteString(`,"error":{"code":`)
	b.WriteString(strconv.Itoa(e.Code))
	b.WriteString(`,"message":`)
	msg, _ := json.Marshal(e.Message)
	b.Write(msg)
	b.WriteString("}}")
	return b.Bytes()
}
