package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// MCP 2026-07-28 is stateless: no initialize, no Mcp-Session-Id; every
// request names its protocol version and the client's capabilities in
// params._meta, and server/discover says what the server offers. The
// gateway speaks it to clients whatever its backend speaks: a backend of
// the 2025 revisions (stdio, legacy SSE, a 2025 Streamable HTTP server)
// is reached through a backend session the gateway keeps for each user
// and client, opened with initialize on the client's behalf.

// ModernVersions are the stateless revisions the gateway serves.
var ModernVersions = []string{mcpmsg.FirstStatelessVersion}

// bridgeVersion is the revision a backend session is opened with; the
// backend may answer with an older one it speaks.
const bridgeVersion = "2025-11-25"

// Methods of the stateless revision the bridge reads.
const (
	methodDiscover    = "server/discover"
	methodInitialized = "notifications/initialized"
	methodPing        = "ping"
)

// _meta members of 2026-07-28 requests the bridge passes on to a legacy
// backend's initialize.
const (
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaServerInfo         = "io.modelcontextprotocol/serverInfo"
)

// CodeUnsupportedVersion is MCP 2026-07-28's UnsupportedProtocolVersion.
const CodeUnsupportedVersion = -32022

// modernRequest is body's one message when it is of the stateless
// revision (its _meta or its MCP-Protocol-Version header says so),
// with the version it names. The resource server has checked that the
// headers mirror the body (mcpmsg.CheckHeaders).
func modernRequest(h http.Header, body *mcpmsg.Body) (*mcpmsg.Message, string, bool) {
	if body == nil || body.Batch || len(body.Messages) != 1 {
		return nil, "", false
	}
	m := &body.Messages[0]
	version := m.ProtocolVersion
	if version == "" {
		if !modernVersion(h) {
			return nil, "", false
		}
		version = h.Get(mcpmsg.HeaderProtocolVersion)
	}
	return m, version, true
}

// modernVersion reports whether h's MCP-Protocol-Version is 2026-07-28 or
// later (versions are dates, YYYY-MM-DD).
func modernVersion(h http.Header) bool {
	v := h.Get(mcpmsg.HeaderProtocolVersion)
	return len(v) == len(mcpmsg.FirstStatelessVersion) && v >= mcpmsg.FirstStatelessVersion
}

// unsupportedVersion answers a request of a revision the gateway does not
// serve (2026-07-28, "Version Negotiation": -32022 with the supported
// versions and the one requested, so the client can pick another).
func unsupportedVersion(w http.ResponseWriter, id []byte, requested string) {
	data, _ := json.Marshal(map[string]any{"supported": ModernVersions, "requested": requested})
	writeRPCError(w, http.StatusBadRequest, id, CodeUnsupportedVersion, "unsupported protocol version "+strconv.Quote(requested), data)
}

// writeRPCError answers with a JSON-RPC error carrying data.
func writeRPCError(w http.ResponseWriter, status int, id []byte, code int, msg string, data json.RawMessage) {
	if len(id) == 0 {
		id = []byte("null")
	}
	type rpcErr struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	}
	out, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcErr          `json:"error"`
	}{"2.0", id, rpcErr{code, msg, data}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// requestMeta is what of a 2026-07-28 request's _meta opens a backend
// session for it.
type requestMeta struct {
	Capabilities json.RawMessage
	ClientInfo   json.RawMessage
}

// metaOf reads m's _meta. m was read strictly (mcpmsg), so any JSON
// reader reads it alike.
func metaOf(m *mcpmsg.Message) requestMeta {
	var msg struct {
		Params struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	json.Unmarshal(m.Raw, &msg) //nolint:errcheck // read strictly before
	return requestMeta{Capabilities: msg.Params.Meta[metaClientCapabilities], ClientInfo: msg.Params.Meta[metaClientInfo]}
}

// initializeRequest is the initialize a backend session opens with, on
// behalf of the client whose request meta is: its capabilities and who
// it is (MCP 2025-11-25 lifecycle).
func initializeRequest(id string, meta requestMeta) []byte {
	caps, info := meta.Capabilities, meta.ClientInfo
	if !isObject(caps) {
		caps = json.RawMessage(`{}`)
	}
	if !isObject(info) {
		info = json.RawMessage(`{"name":"tmcp","version":"1"}`)
	}
	out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": mcpmsg.MethodInitialize,
		"params": map[string]any{"protocolVersion": bridgeVersion, "capabilities": caps, "clientInfo": info}})
	return out
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// initialized is the notification that ends a backend session's opening.
var initialized = []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

// initResult is what a legacy backend said of itself when a session
// opened: server/discover is answered from it.
type initResult struct {
	ProtocolVersion string                     `json:"protocolVersion"`
	Capabilities    map[string]json.RawMessage `json:"capabilities"`
	ServerInfo      json.RawMessage            `json:"serverInfo"`
	Instructions    string                     `json:"instructions,omitempty"`
}

// readInitResult reads a backend's answer to initialize.
func readInitResult(answer []byte) (*initResult, error) {
	var msg struct {
		Result *initResult      `json:"result"`
		Error  *json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(answer, &msg); err != nil {
		return nil, err
	}
	if msg.Result == nil || msg.Result.ProtocolVersion == "" {
		return nil, &mcpmsg.Error{Code: mcpmsg.CodeInternalError, Message: "the MCP server refused to open a session: " + string(answerError(answer))}
	}
	return msg.Result, nil
}

func answerError(answer []byte) json.RawMessage {
	var msg struct {
		Error json.RawMessage `json:"error"`
	}
	json.Unmarshal(answer, &msg) //nolint:errcheck // for a message only
	return msg.Error
}

// modernCapabilities are the server capabilities of 2026-07-28 (tasks
// and others of 2025 only are left out).
var modernCapabilities = []string{"experimental", "logging", "completions", "prompts", "resources", "tools", "extensions"}

// discoverAnswer answers server/discover for a legacy backend from its
// initialize result.
func discoverAnswer(id []byte, init *initResult) []byte {
	caps := map[string]json.RawMessage{}
	for _, k := range modernCapabilities {
		if v, ok := init.Capabilities[k]; ok {
			caps[k] = v
		}
	}
	result := map[string]any{"resultType": "complete", "supportedVersions": ModernVersions, "capabilities": caps,
		"ttlMs": 0, "cacheScope": "private"}
	if init.Instructions != "" {
		result["instructions"] = init.Instructions
	}
	if isObject(init.ServerInfo) {
		result["_meta"] = map[string]json.RawMessage{metaServerInfo: init.ServerInfo}
	}
	out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "result": result})
	return out
}

// cacheable are the methods whose 2026-07-28 results carry ttlMs and
// cacheScope (CacheableResult).
var cacheable = []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", methodDiscover}

// modernAnswer is a legacy backend's answer to a request of method, as
// 2026-07-28 has it, with the client's id: a result says it is complete
// (resultType), a cacheable one how long it may be kept (not at all: the
// backend said nothing), and tools lose what the revision deleted.
func modernAnswer(method string, id []byte, answer []byte) []byte {
	var msg struct {
		Result map[string]json.RawMessage `json:"result"`
		Error  json.RawMessage            `json:"error"`
	}
	if err := json.Unmarshal(answer, &msg); err != nil || msg.Result == nil && msg.Error == nil {
		return (&mcpmsg.Error{Code: mcpmsg.CodeInternalError, ID: id, Message: "the MCP server behind this gateway answered with no result"}).JSON()
	}
	if msg.Result == nil {
		out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "error": modernError(msg.Error)})
		return out
	}
	r := msg.Result
	if _, ok := r["resultType"]; !ok {
		r["resultType"] = json.RawMessage(`"complete"`)
	}
	if slices.Contains(cacheable, method) {
		if _, ok := r["ttlMs"]; !ok {
			r["ttlMs"] = json.RawMessage(`0`)
		}
		if _, ok := r["cacheScope"]; !ok {
			r["cacheScope"] = json.RawMessage(`"private"`)
		}
	}
	if method == mcpmsg.MethodToolsList {
		var tools []map[string]json.RawMessage
		if json.Unmarshal(r["tools"], &tools) == nil {
			for _, t := range tools {
				delete(t, "execution") // deleted in 2026-07-28
			}
			r["tools"], _ = json.Marshal(tools)
		}
	}
	out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "result": r})
	return out
}

// modernError is a legacy error as 2026-07-28 codes it: resource not
// found (-32002) became invalid params.
func modernError(e json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(e, &obj) != nil || string(obj["code"]) != "-32002" {
		return e
	}
	obj["code"] = json.RawMessage(strconv.Itoa(mcpmsg.CodeInvalidParams))
	out, _ := json.Marshal(obj)
	return out
}

// withID is message msg (read strictly) with another id: a backend
// session carries the requests of every instance of one client, whose ids
// may collide. The params, which the policies judged, stay as they are
// (white space between tokens aside).
func withID(msg []byte, id string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(msg, &obj) != nil {
		return msg
	}
	obj["id"], _ = json.Marshal(id)
	out, _ := json.Marshal(obj)
	return out
}

// answerToBackend is the answer the bridge gives a legacy backend's
// request to the client: a 2026-07-28 client is not listening for one
// (the revision asks for input with input_required results instead), so
// ping is answered and anything else refused, at once, rather than left
// to time out.
func answerToBackend(m *mcpmsg.Message) []byte {
	if m.Method == methodPing {
		return []byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{}}`)
	}
	return (&mcpmsg.Error{Code: -32601, ID: m.ID, Message: "the client reaches this server through a gateway for MCP " + mcpmsg.FirstStatelessVersion +
		" clients, which cannot take " + m.Method + " requests from the server"}).JSON()
}

// writeAnswer answers a modern request with one message.
func writeAnswer(w http.ResponseWriter, msg []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(msg)
}
