// Package mcpmsg reads the JSON-RPC 2.0 messages of MCP once, strictly,
// so that what a policy judges is exactly what the server behind it runs,
// whichever JSON decoder that server uses: a body two common decoders
// could read differently (a member named twice in any case spelling, a
// byte-order mark, invalid UTF-8, a lone surrogate, data after the value,
// a known member of the wrong type) is refused, never guessed at. The
// bytes a gateway forwards are the bytes it judged.
package mcpmsg

import (
	"bytes"
	"fmt"
	"strconv"
)

// JSON-RPC and MCP error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeHeaderMismatch is MCP 2026-07-28's HeaderMismatch: the
	// Mcp-Method, Mcp-Name or MCP-Protocol-Version header is missing or
	// says something other than the body.
	CodeHeaderMismatch = -32020
)

// Error is why a message cannot be judged, as a JSON-RPC error.
type Error struct {
	Code    int
	Message string
	// Status is the HTTP status it is answered with (400 when zero).
	Status int
	// ID is the id of the request it answers, when known.
	ID []byte
}

func (e *Error) Error() string { return e.Message }

func invalid(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Kind is what a message is.
type Kind uint8

const (
	KindRequest Kind = iota + 1
	KindNotification
	KindResponse
)

// Methods the policies read.
const (
	MethodInitialize     = "initialize"
	MethodToolsCall      = "tools/call"
	MethodToolsList      = "tools/list"
	MethodPromptsGet     = "prompts/get"
	MethodResourcesRead  = "resources/read"
	MethodResourcesSub   = "resources/subscribe"
	MethodResourcesUnsub = "resources/unsubscribe"
	MethodCompletion     = "completion/complete"
)

// MetaProtocolVersion is the _meta member of MCP 2026-07-28 requests that
// names their protocol version.
const MetaProtocolVersion = "io.modelcontextprotocol/protocolVersion"

// Message is one JSON-RPC message as the policies read it.
type Message struct {
	Kind Kind
	ID   []byte // the id's JSON text: a string or a safe integer
	// IDKey is the id as any reader of it reads it (a string's value, a
	// number's digits): the key an answer's id matches its request's by.
	IDKey  string
	Method string
	// Tool is params.name of a tools/call.
	Tool string
	// Prompt is params.name of a prompts/get, or the prompt a
	// completion/complete is for.
	Prompt string
	// Resource is params.uri of resources/read, resources/subscribe and
	// resources/unsubscribe, or the resource (template) a
	// completion/complete is for.
	Resource string
	// ProtocolVersion is params._meta's io.modelcontextprotocol/protocolVersion
	// (MCP 2026-07-28 carries it on every request).
	ProtocolVersion string
	// Raw is the message's own bytes within the body.
	Raw []byte
	// MetaEnd is the offset in the body's Raw of the brace that closes
	// params._meta, or 0 when there is none: where a member can be added
	// to it without touching a byte that was judged.
	MetaEnd int
}

// Body is a POST's messages: one, or a batch.
type Body struct {
	Messages []Message
	Batch    bool
	Raw      []byte
}

// Opens reports whether the body opens a session (initialize).
func (b *Body) Opens() bool {
	for i := range b.Messages {
		if b.Messages[i].Method == MethodInitialize {
			return true
		}
	}
	return false
}

// Decode reads a body of one JSON-RPC message or a batch of them.
func Decode(body []byte) (*Body, error) {
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return nil, invalid(CodeParseError, "the body starts with a byte-order mark: send UTF-8 JSON without one")
	}
	s := &scanner{data: body}
	out := &Body{Raw: body}
	switch s.peek() {
	case '[':
		out.Batch = true
		err := s.array(func(int) error {
			m, err := s.message()
			out.Messages = append(out.Messages, m)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(out.Messages) == 0 {
			return nil, invalid(CodeInvalidRequest, "an empty batch")
		}
	case '{':
		m, err := s.message()
		if err != nil {
			return nil, err
		}
		out.Messages = []Message{m}
	case 0:
		return nil, invalid(CodeParseError, "the body is empty: send a JSON-RPC message")
	default:
		return nil, invalid(CodeParseError, "the body is not a JSON-RPC message")
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// messageMembers are the members of a JSON-RPC message (JSON-RPC 2.0 §4,
// §5): one spelled in another case is refused, since Go's decoder would
// take it for the member and JavaScript's would not.
var messageMembers = []string{"jsonrpc", "id", "method", "params", "result", "error"}

// message reads one JSON-RPC message.
func (s *scanner) message() (Message, error) {
	s.space()
	start := s.pos
	var m Message
	var version, hasMethod, hasID, hasResult, hasError bool
	var params []byte // the params object, read once the method is known
	paramsAt := 0     // and where it starts in the body
	err := s.object(func(name []byte) error {
		switch string(name) {
		case "jsonrpc":
			v, err := s.stringMember("jsonrpc")
			if err != nil {
				return err
			}
			if v != "2.0" {
				return invalid(CodeInvalidRequest, `"jsonrpc" must be "2.0"`)
			}
			version = true
		case "id":
			id, key, err := s.id()
			if err != nil {
				return err
			}
			m.ID, m.IDKey, hasID = id, key, true
		case "method":
			v, err := s.stringMember("method")
			if err != nil {
				return err
			}
			m.Method, hasMethod = v, true
		case "params":
			if s.peek() != '{' {
				return invalid(CodeInvalidRequest, `"params" must be an object`)
			}
			if hasMethod { // as clients write it: read in place
				return s.params(&m)
			}
			p := s.pos
			if err := s.value(); err != nil {
				return err
			}
			params, paramsAt = s.data[p:s.pos], p
		case "result":
			hasResult = true
			return s.value()
		case "error":
			if s.peek() != '{' {
				return invalid(CodeInvalidRequest, `"error" must be an object`)
			}
			hasError = true
			return s.value()
		default:
			if err := misspelled(name, messageMembers); err != nil {
				return err
			}
			return s.value()
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	m.Raw = s.data[start:s.pos]
	switch {
	case !version:
		return m, invalid(CodeInvalidRequest, `a JSON-RPC 2.0 message needs "jsonrpc": "2.0"`)
	case hasMethod && (hasResult || hasError):
		return m, invalid(CodeInvalidRequest, "a message is a request or a response, not both")
	case hasMethod && hasID:
		m.Kind = KindRequest
	case hasMethod:
		m.Kind = KindNotification
	case hasID && hasResult != hasError:
		m.Kind = KindResponse
	default:
		return m, invalid(CodeInvalidRequest, "not a JSON-RPC request, notification or response")
	}
	if params != nil {
		if err := (&scanner{data: params}).params(&m); err != nil {
			return m, err
		}
		if m.MetaEnd > 0 {
			m.MetaEnd += paramsAt
		}
	}
	return m, m.complete()
}

// complete checks that a call the policies judge names what it acts on.
func (m *Message) complete() error {
	switch {
	case m.Method == MethodToolsCall && m.Tool == "":
		return invalid(CodeInvalidParams, "tools/call needs params.name, the tool to call")
	case m.Method == MethodPromptsGet && m.Prompt == "":
		return invalid(CodeInvalidParams, "prompts/get needs params.name, the prompt to get")
	case (m.Method == MethodResourcesRead || m.Method == MethodResourcesSub || m.Method == MethodResourcesUnsub) && m.Resource == "":
		return invalid(CodeInvalidParams, "%s needs params.uri, the resource", m.Method)
	case m.Method == MethodCompletion && m.Prompt == "" && m.Resource == "":
		return invalid(CodeInvalidParams, "completion/complete needs params.ref naming a prompt or a resource")
	}
	return nil
}

// paramsMembers are the params members the policies read.
var paramsMembers = []string{"name", "uri", "ref", "_meta", "arguments"}

// params reads what the policies judge in a message's params.
func (s *scanner) params(m *Message) error {
	return s.object(func(name []byte) error {
		switch string(name) {
		case "name":
			if m.Method != MethodToolsCall && m.Method != MethodPromptsGet {
				return s.value()
			}
			v, err := s.target("params.name")
			if err != nil {
				return err
			}
			if m.Method == MethodToolsCall {
				m.Tool = v
			} else {
				m.Prompt = v
			}
		case "uri":
			if m.Method != MethodResourcesRead && m.Method != MethodResourcesSub && m.Method != MethodResourcesUnsub {
				return s.value()
			}
			v, err := s.target("params.uri")
			if err != nil {
				return err
			}
			m.Resource = v
		case "arguments":
			if c := s.peek(); (m.Method == MethodToolsCall || m.Method == MethodPromptsGet) && c != '{' && c != 'n' {
				return invalid(CodeInvalidParams, "params.arguments must be an object")
			}
			return s.value()
		case "ref":
			if m.Method != MethodCompletion {
				return s.value()
			}
			return s.ref(m)
		case "_meta":
			return s.meta(m)
		default:
			if err := misspelled(name, paramsMembers); err != nil {
				return err
			}
			return s.value()
		}
		return nil
	})
}

// ref reads completion/complete's params.ref: the prompt or resource
// whose argument is being completed.
func (s *scanner) ref(m *Message) error {
	if s.peek() != '{' {
		return invalid(CodeInvalidParams, "params.ref must be an object")
	}
	var kind, name, uri string
	err := s.object(func(member []byte) error {
		var err error
		switch string(member) {
		case "type":
			kind, err = s.stringMember("params.ref.type")
		case "name":
			name, err = s.target("params.ref.name")
		case "uri":
			uri, err = s.target("params.ref.uri")
		default:
			if err := misspelled(member, []string{"type", "name", "uri"}); err != nil {
				return err
			}
			return s.value()
		}
		return err
	})
	if err != nil {
		return err
	}
	switch kind {
	case "ref/prompt":
		m.Prompt = name
	case "ref/resource":
		m.Resource = uri
	default:
		return invalid(CodeInvalidParams, "params.ref.type must be ref/prompt or ref/resource")
	}
	return nil
}

// meta reads params._meta, for the protocol version MCP 2026-07-28
// requests carry.
func (s *scanner) meta(m *Message) error {
	if s.peek() != '{' {
		return invalid(CodeInvalidParams, "params._meta must be an object")
	}
	err := s.object(func(name []byte) error {
		if string(name) != MetaProtocolVersion {
			return s.value()
		}
		v, err := s.stringMember("params._meta." + MetaProtocolVersion)
		m.ProtocolVersion = v
		return err
	})
	m.MetaEnd = s.pos - 1 // object read the closing brace
	return err
}

// misspelled refuses a member name that is one of known in another case
// spelling.
func misspelled(name []byte, known []string) error {
	for _, k := range known {
		if string(name) != k && bytes.EqualFold(name, []byte(k)) {
			return invalid(CodeInvalidRequest, "the member %q must be spelled %q", name, k)
		}
	}
	return nil
}

// stringMember reads a member that must be a string.
func (s *scanner) stringMember(what string) (string, error) {
	if s.peek() != '"' {
		return "", invalid(CodeInvalidRequest, "%q must be a string", what)
	}
	v, err := s.str()
	return string(v), err
}

// target reads a name or URI a policy judges: a non-empty string without
// NUL, which C-string readers would cut short.
func (s *scanner) target(what string) (string, error) {
	if s.peek() != '"' {
		return "", invalid(CodeInvalidParams, "%s must be a string", what)
	}
	v, err := s.str()
	if err != nil {
		return "", err
	}
	if len(v) == 0 || bytes.IndexByte(v, 0) >= 0 {
		return "", invalid(CodeInvalidParams, "%s must be a non-empty string without NUL", what)
	}
	return string(v), nil
}

// id reads a request id (JSON-RPC 2.0 §4; MCP: never null): a string, or
// an integer every reader holds exactly, written without fraction or
// exponent, so the answer's id is the one asked with.
func (s *scanner) id() ([]byte, string, error) {
	switch c := s.peek(); {
	case c == '"':
		start := s.pos
		v, err := s.str()
		if err != nil {
			return nil, "", err
		}
		return s.data[start:s.pos], "s" + string(v), nil
	case c == '-' || c >= '0' && c <= '9':
		n, err := s.number()
		if err != nil {
			return nil, "", err
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v > maxSafeInteger || v < -maxSafeInteger || string(n) == "-0" {
			return nil, "", invalid(CodeInvalidRequest, "an id must be a string or an integer of at most 2^53-1 written without fraction or exponent")
		}
		return n, "n" + string(n), nil
	}
	return nil, "", invalid(CodeInvalidRequest, "an id must be a string or an integer")
}
