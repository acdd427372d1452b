package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// authTransport is the MCP client's HTTP transport. It sends the current
// access token and, as the MCP authorization spec asks of clients, signs
// in on a 401 and steps up on a 403 insufficient_scope, then sends the
// request again.
type authTransport struct {
	r    *runner
	base http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	for stepUps, nonceRetried := 0, false; ; {
		out := req.Clone(req.Context())
		if body != nil {
			out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		token := t.r.token()
		if token != "" && t.r.dpop != nil {
			// RFC 9449 §7.1: the DPoP scheme and a fresh proof each time.
			proof, err := t.r.proof(out.Method, out.URL.String(), token)
			if err != nil {
				return nil, err
			}
			out.Header.Set("Authorization", dpop.Scheme+" "+token)
			out.Header.Set(dpop.Header, proof)
		} else if token != "" {
			out.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := t.base.RoundTrip(out)
		if err == nil && t.r.dpop != nil && t.r.observeNonce(out.URL.String(), resp.Header) &&
			resp.StatusCode == http.StatusUnauthorized && !nonceRetried && token != "" {
			// §9: the server wants its nonce in the proof; once.
			if c, _ := oauth.ParseChallenge(strings.Join(resp.Header.Values("WWW-Authenticate"), ", "), dpop.Scheme); c.Error == dpop.CodeUseNonce {
				nonceRetried = true
				io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // only the status matters
				resp.Body.Close()
				continue
			}
		}
		if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
			return resp, err
		}
		c, cerr := challengeOf(resp.Header, t.r.dpop != nil)
		stepUp := resp.StatusCode == http.StatusForbidden
		if stepUp && (cerr != nil || c.Error != oauth.CodeInsufficientScope) {
			return resp, nil // a 403 that is not about scopes
		}
		if stepUp {
			if stepUps == maxStepUps {
				return resp, nil // the caller reports the refusal
			}
			stepUps++
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // only the status matters
		resp.Body.Close()
		// The sign-in belongs to the run, not to this request: an MCP
		// client may send a probe with a short deadline (server/discover),
		// and a person takes longer than that to log in.
		if err := t.r.authorize(t.r.runCtx, token, resp.StatusCode, c, rpcMethod(body, req.Method)); err != nil {
			return nil, err
		}
	}
}

// challengeOf reads the challenge of a 401 or 403: the DPoP one when the
// run uses DPoP and the server sent one, else the Bearer one, else the
// DPoP one (a server that takes DPoP-bound tokens only).
func challengeOf(h http.Header, preferDPoP bool) (oauth.BearerChallenge, error) {
	all := strings.Join(h.Values("WWW-Authenticate"), ", ")
	if preferDPoP {
		if c, err := oauth.ParseChallenge(all, dpop.Scheme); err == nil {
			return c, nil
		}
	}
	if c, err := oauth.ParseBearerChallenge(all); err == nil {
		return c, nil
	}
	return oauth.ParseChallenge(all, dpop.Scheme)
}

// rpcMethod names the JSON-RPC method of a request body, for the report.
func rpcMethod(body []byte, httpMethod string) string {
	var m struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &m) == nil && m.Method != "" {
		return m.Method
	}
	return httpMethod + " (the SSE stream)"
}

func (r *runner) token() string {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	return r.access
}

// initialize connects through the authorizing transport; a server that
// asks for authorization here gets it here.
func (r *runner) initialize(ctx context.Context) (string, error) {
	hc := &http.Client{Transport: &authTransport{r: r, base: baseTransport(r.opts.HTTP)}}
	var c *client.Client
	var err error
	if r.opts.SSE {
		c, err = client.NewSSEMCPClient(r.opts.Server, transport.WithHTTPClient(hc))
	} else {
		c, err = client.NewStreamableHttpClient(r.opts.Server, transport.WithHTTPBasicClient(hc))
	}
	if err != nil {
		return "", err
	}
	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
		return "", r.mcpError("connect", err)
	}
	r.mcp = c
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "tmcp-flow-test", Version: "1"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		return "", r.mcpError("initialize", err)
	}
	via := "Streamable HTTP"
	if r.opts.SSE {
		via = "SSE"
	}
	detail := fmt.Sprintf("%s %s over %s, protocol %s", res.ServerInfo.Name, res.ServerInfo.Version, via, c.ProtocolVersion())
	if r.token() == "" {
		detail += " (no token needed yet)"
	}
	return detail, nil
}

// mcpError explains an MCP request that failed: a failed sign-in was
// reported in its own step already.
func (r *runner) mcpError(what string, err error) error {
	var af *authFailed
	if errors.As(err, &af) {
		return fmt.Errorf("%s: the sign-in failed at %q", what, af.step)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// errUnprotected is a server that serves its tools to anyone.
var errUnprotected = errors.New("the MCP server answered initialize and tools/list without a token: it is unprotected")

// toolInfo is a listed tool.
type toolInfo struct {
	name       string
	structured bool // it declares an outputSchema
}

func (r *runner) listTools(ctx context.Context) (string, error) {
	res, err := r.mcp.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return "", r.mcpError("tools/list", err)
	}
	names := make([]string, 0, len(res.Tools))
	for _, t := range res.Tools {
		names = append(names, t.Name)
		r.tools = append(r.tools, toolInfo{name: t.Name, structured: t.OutputSchema.Type != "" || t.RawOutputSchema != nil})
	}
	detail := fmt.Sprintf("%d tools: %s", len(names), strings.Join(names, ", "))
	if r.token() == "" {
		if !r.opts.AllowUnprotected {
			return "", errUnprotected
		}
		detail += " (unprotected: no token asked for, as --allow-unprotected allows)"
	}
	return detail, nil
}

func (r *runner) tool(name string) (toolInfo, bool) {
	i := slices.IndexFunc(r.tools, func(t toolInfo) bool { return t.name == name })
	if i < 0 {
		return toolInfo{}, false
	}
	return r.tools[i], true
}

// callTool calls a tool and checks its result as the strictest clients
// do: structuredContent is a JSON object, and present whenever the tool
// declares an outputSchema (MCP tools, structured content).
func (r *runner) callTool(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, string, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := r.mcp.CallTool(ctx, req)
	if err != nil {
		return nil, "", r.mcpError(name, err)
	}
	text := ""
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		return res, text, fmt.Errorf("%s failed: %s", name, text)
	}
	info, _ := r.tool(name)
	switch _, isObject := res.StructuredContent.(map[string]any); {
	case res.StructuredContent != nil && !isObject:
		return res, text, fmt.Errorf("%s: structuredContent must be a JSON object; the TypeScript and Python SDKs refuse anything else", name)
	case info.structured && res.StructuredContent == nil:
		return res, text, fmt.Errorf("%s declares an outputSchema but its result has no structuredContent", name)
	}
	return res, text, nil
}

// structured decodes a result's structuredContent into out.
func structured(res *mcp.CallToolResult, out any) error {
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// callFor calls a tool a step is about and decodes its structuredContent
// into out; an answer that does not decode, or that valid refuses, is
// "something other than shape". A server without the tool skips the step.
func (r *runner) callFor(ctx context.Context, name string, args map[string]any, out any, shape string, valid func() bool) error {
	if _, ok := r.tool(name); !ok {
		return errSkip{"the server has no " + name + " tool"}
	}
	res, _, err := r.callTool(ctx, name, args)
	if err != nil {
		return err
	}
	if structured(res, out) != nil || !valid() {
		return fmt.Errorf("%s answered something other than %s", name, shape)
	}
	return nil
}

func (r *runner) whoami(ctx context.Context) (string, error) {
	var id struct {
		Username string   `json:"username"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}
	if err := r.callFor(ctx, "whoami", nil, &id, "an identity", func() bool { return id.ClientID != "" }); err != nil {
		return "", err
	}
	if id.ClientID != r.clientID {
		return "", fmt.Errorf("whoami names client %q, not this one (%q)", id.ClientID, r.clientID)
	}
	return fmt.Sprintf("%s via %s, scopes %s", id.Username, id.ClientID, strings.Join(id.Scopes, " ")), nil
}

func (r *runner) readTool(ctx context.Context) (string, error) {
	var out struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	if err := r.callFor(ctx, "list_tasks", nil, &out, `{"tasks": […]}`, func() bool { return out.Tasks != nil }); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d tasks at TaskManager", len(out.Tasks)), nil
}

// writeTool creates a task and deletes it again: with a read-only token it
// is where a tmcp server asks for write, and the client steps up.
func (r *runner) writeTool(ctx context.Context) (string, error) {
	before := r.signInCount()
	var task struct {
		ID int64 `json:"id"`
	}
	args := map[string]any{"title": "tmcp flow test", "description": "made and deleted by tmcp flow test"}
	if err := r.callFor(ctx, "create_task", args, &task, "a task", func() bool { return task.ID != 0 }); err != nil {
		return "", err
	}
	detail := fmt.Sprintf("task %d created", task.ID)
	if _, ok := r.tool("delete_task"); ok {
		if _, _, err := r.callTool(ctx, "delete_task", map[string]any{"id": task.ID}); err != nil {
			return "", err
		}
		detail += " and deleted"
	}
	if r.signInCount() > before {
		detail += ", after stepping up to " + oauth.JoinScope(r.grantedScope())
	}
	return detail, nil
}

// callNamed calls a tool named on the command line with no arguments.
func (r *runner) callNamed(ctx context.Context, name string) (string, error) {
	if _, ok := r.tool(name); !ok {
		return "", fmt.Errorf("the server lists no tool %q", name)
	}
	_, text, err := r.callTool(ctx, name, map[string]any{})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("answered %.60q", text), nil
}

func (r *runner) signInCount() int {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	return r.signIns
}

func (r *runner) grantedScope() []string {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	return r.scope
}

// baseTransport is the transport of hc, or the default one.
func baseTransport(hc *http.Client) http.RoundTripper {
	if hc != nil && hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}
