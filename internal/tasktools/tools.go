// Package tasktools is tmcp's built-in MCP server (mcp-go): tools that act
// on the signed-in user's TaskManager tasks, with the user's own
// TaskManager access, never the MCP token. Who the user is and how their
// TaskManager token is had come from the resource server in front.
package tasktools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

const (
	scopeRead  = "read"
	scopeWrite = "write"
)

// Scopes is the scope each tool needs; whoami needs only a valid token.
var Scopes = map[string]string{
	"whoami":      "",
	"list_tasks":  scopeRead,
	"get_task":    scopeRead,
	"create_task": scopeWrite,
	"update_task": scopeWrite,
	"delete_task": scopeWrite,
}

// Tool results are objects in structuredContent, each described by the
// tool's outputSchema, with the same JSON as text for clients that read
// only content: the TypeScript and Python SDKs reject anything else.

// TaskList is what list_tasks answers.
type TaskList struct {
	Tasks []upstream.Task `json:"tasks"`
}

// Deleted is what delete_task answers.
type Deleted struct {
	Deleted int64 `json:"deleted"`
}

// Identity is what whoami answers.
type Identity struct {
	Subject   string   `json:"sub"`
	Username  string   `json:"username"`
	ClientID  string   `json:"client_id"`
	Scopes    []string `json:"scopes"`
	ExpiresAt string   `json:"expires_at"`
}

// User is who a call is from.
type User struct {
	Subject, Username, ClientID string
	Scopes                      []string
	Expiry                      time.Time
}

// Has reports whether the user's token carries scope.
func (u *User) Has(scope string) bool {
	return scope == "" || oauth.ScopeSubset([]string{scope}, u.Scopes)
}

// Access is how a call gets the user's TaskManager access.
type Access interface {
	// Token is the user's TaskManager access token. A *Refusal is the
	// auth server refusing to hand it out; any other error a fault.
	Token(ctx context.Context) (string, error)
	// Forget drops a token TaskManager no longer accepts.
	Forget(ctx context.Context)
}

// Refusal is the auth server refusing a token exchange, with its OAuth
// error code.
type Refusal struct{ Code string }

func (e *Refusal) Error() string { return "the authorization server refused: " + e.Code }

// Unavailable is the auth server answering that it cannot hand out the
// user's TaskManager token now, with the reason it gave (TaskManager
// down, or refusing tmcp's own client): a fault, but not "unreachable".
type Unavailable struct{ Reason string }

func (e *Unavailable) Error() string {
	return "the authorization server cannot hand out the token now: " + e.Reason
}

// Config is what the tools need.
type Config struct {
	TaskManager *upstream.Client
	// TaskManagerURL names TaskManager in messages.
	TaskManagerURL string
	Access         Access
	// User is who the call in ctx is from.
	User    func(ctx context.Context) (*User, bool)
	Version string
	Log     *slog.Logger
	// Hooks learn of the MCP server's sessions.
	Hooks *server.Hooks
}

type tools struct {
	cfg Config
	tm  *upstream.Client
	log *slog.Logger
}

// New is the MCP server of the built-in tools.
func New(cfg Config) *server.MCPServer {
	s := &tools{cfg: cfg, tm: cfg.TaskManager, log: cfg.Log}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	m := server.NewMCPServer("tmcp", version, server.WithToolCapabilities(false), server.WithLogging(), server.WithHooks(cfg.Hooks),
		server.WithInstructions("Tools act on the signed-in user's TaskManager tasks. Reading needs the read scope, changing needs write."))
	id := mcp.WithNumber("id", mcp.Required(), mcp.Description("The task's id"))
	task := outputSchema[upstream.Task]()
	m.AddTool(mcp.NewTool("whoami", mcp.WithDescription("Who the access token speaks for: user, client, scopes and expiry"),
		outputSchema[Identity](), mcp.WithReadOnlyHintAnnotation(true)), s.scoped("whoami", s.whoami))
	m.AddTool(mcp.NewTool("list_tasks", mcp.WithDescription("List the user's TaskManager tasks (scope: read)"),
		outputSchema[TaskList](), mcp.WithReadOnlyHintAnnotation(true)), s.scoped("list_tasks", s.listTasks))
	m.AddTool(mcp.NewTool("get_task", mcp.WithDescription("Get one task (scope: read)"), id, task,
		mcp.WithReadOnlyHintAnnotation(true)), s.scoped("get_task", s.getTask))
	m.AddTool(mcp.NewTool("create_task", mcp.WithDescription("Create a task (scope: write)"),
		mcp.WithString("title", mcp.Required(), mcp.Description("Short title, at most 200 characters")),
		mcp.WithString("description", mcp.Description("Longer text")), task,
		mcp.WithDestructiveHintAnnotation(false)), s.scoped("create_task", s.createTask))
	m.AddTool(mcp.NewTool("update_task", mcp.WithDescription("Change a task's title, description or done flag (scope: write)"), id,
		mcp.WithString("title", mcp.Description("New title")), mcp.WithString("description", mcp.Description("New description")),
		mcp.WithBoolean("done", mcp.Description("Mark the task done or not done")), task,
		mcp.WithDestructiveHintAnnotation(false), mcp.WithIdempotentHintAnnotation(true)), s.scoped("update_task", s.updateTask))
	m.AddTool(mcp.NewTool("delete_task", mcp.WithDescription("Delete a task (scope: write)"), id,
		outputSchema[Deleted](), mcp.WithDestructiveHintAnnotation(true)), s.scoped("delete_task", s.deleteTask))
	return m
}

// outputSchema is T's JSON schema with its lists typed plain "array": they
// are never null, and a single type is the portable form (clients that map
// tool schemas onto a single-type dialect refuse ["null","array"]).
func outputSchema[T any]() mcp.ToolOption {
	raw, err := json.Marshal(mcp.NewTool("", mcp.WithOutputSchema[T]()).OutputSchema)
	if err != nil {
		panic(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		panic(err)
	}
	singleTypes(schema)
	raw, _ = json.Marshal(schema)
	return mcp.WithRawOutputSchema(raw)
}

func singleTypes(v any) {
	switch v := v.(type) {
	case map[string]any:
		if types, ok := v["type"].([]any); ok && len(types) == 2 && types[0] == "null" {
			v["type"] = types[1]
		}
		for _, x := range v {
			singleTypes(x)
		}
	case []any:
		for _, x := range v {
			singleTypes(x)
		}
	}
}

type toolFunc func(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error)

// scoped checks the tool's scope again inside the MCP server: the HTTP
// layer answers 403 first, and this keeps a tool safe on any transport.
func (s *tools) scoped(name string, fn toolFunc) server.ToolHandlerFunc {
	need := Scopes[name]
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		p, ok := s.cfg.User(ctx)
		if !ok {
			return mcp.NewToolResultError("not authenticated"), nil
		}
		if !p.Has(need) {
			return mcp.NewToolResultError(fmt.Sprintf("%s needs the %s scope; this token has: %s", name, need, oauth.JoinScope(p.Scopes))), nil
		}
		return fn(ctx, p, req)
	}
}

func (s *tools) whoami(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return jsonResult(Identity{Subject: p.Subject, Username: p.Username, ClientID: p.ClientID, Scopes: append([]string{}, p.Scopes...),
		ExpiresAt: p.Expiry.UTC().Format(time.RFC3339)})
}

func (s *tools) listTasks(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return s.withTaskManager(ctx, p, func(token string) (any, error) {
		tasks, err := s.tm.ListTasks(ctx, token)
		if tasks == nil {
			tasks = []upstream.Task{} // [] rather than null, as the schema says
		}
		return TaskList{Tasks: tasks}, err
	})
}

func (s *tools) getTask(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, err := taskID(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return s.withTaskManager(ctx, p, func(token string) (any, error) { return s.tm.GetTask(ctx, token, id) })
}

func (s *tools) createTask(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	title, err := req.RequireString("title")
	if err != nil || title == "" {
		return mcp.NewToolResultError("title is required"), nil
	}
	in := upstream.TaskInput{Title: &title}
	if d, ok := req.GetArguments()["description"].(string); ok {
		in.Description = &d
	}
	return s.withTaskManager(ctx, p, func(token string) (any, error) { return s.tm.CreateTask(ctx, token, in) })
}

func (s *tools) updateTask(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, err := taskID(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	args := req.GetArguments()
	var in upstream.TaskInput
	if v, ok := args["title"].(string); ok {
		in.Title = &v
	}
	if v, ok := args["description"].(string); ok {
		in.Description = &v
	}
	if v, ok := args["done"].(bool); ok {
		in.Done = &v
	}
	if in.Title == nil && in.Description == nil && in.Done == nil {
		return mcp.NewToolResultError("nothing to change: give title, description or done"), nil
	}
	return s.withTaskManager(ctx, p, func(token string) (any, error) { return s.tm.UpdateTask(ctx, token, id, in) })
}

func (s *tools) deleteTask(ctx context.Context, p *User, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, err := taskID(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return s.withTaskManager(ctx, p, func(token string) (any, error) {
		return Deleted{Deleted: id}, s.tm.DeleteTask(ctx, token, id)
	})
}

func taskID(req mcp.CallToolRequest) (int64, error) {
	f, err := req.RequireFloat("id")
	if err != nil || f < 1 || f != float64(int64(f)) {
		return 0, errors.New("id must be a positive whole number")
	}
	return int64(f), nil
}

// withTaskManager runs call with the user's TaskManager token and turns
// TaskManager's failures into tool errors a person can act on.
func (s *tools) withTaskManager(ctx context.Context, p *User, call func(token string) (any, error)) (*mcp.CallToolResult, error) {
	token, err := s.cfg.Access.Token(ctx)
	if err != nil {
		var refusal *Refusal
		if errors.As(err, &refusal) && refusal.Code == "invalid_target" {
			s.log.ErrorContext(ctx, "the auth server refused the token exchange: its TaskManager URL differs from this server's", "taskmanager", s.cfg.TaskManagerURL)
			return mcp.NewToolResultError("tmcp is misconfigured: the auth server and the MCP server name different TaskManager URLs. " +
				"Give serve resource the auth server's --taskmanager-url; with an OpenID provider upstream, which has no task API, " +
				"put your own MCP server behind the gateway (--proxy URL, or -- COMMAND) instead of the built-in tools"), nil
		}
		if errors.As(err, &refusal) {
			return mcp.NewToolResultError("the authorization server will not hand out your TaskManager access (" + refusal.Code + "): sign in again"), nil
		}
		s.log.ErrorContext(ctx, "token exchange failed", "err", err)
		var unavailable *Unavailable
		if errors.As(err, &unavailable) {
			return mcp.NewToolResultError("the authorization server cannot hand out your TaskManager access right now: " + unavailable.Reason), nil
		}
		return mcp.NewToolResultError("the authorization server is unreachable; try again shortly"), nil
	}
	out, err := call(token)
	if err != nil {
		return s.taskManagerError(ctx, err), nil
	}
	return jsonResult(out)
}

func (s *tools) taskManagerError(ctx context.Context, err error) *mcp.CallToolResult {
	var ue *upstream.Error
	if errors.As(err, &ue) {
		switch ue.Status {
		case http.StatusNotFound:
			return mcp.NewToolResultError("TaskManager has no such task")
		case http.StatusUnauthorized:
			s.cfg.Access.Forget(ctx)
			return mcp.NewToolResultError("TaskManager no longer accepts your sign-in; sign in again")
		case http.StatusForbidden:
			return mcp.NewToolResultError("TaskManager refused: your TaskManager grant lacks the scope for this")
		case http.StatusBadRequest:
			msg := "TaskManager refused the request"
			if ue.Description != "" {
				msg += ": " + ue.Description
			}
			return mcp.NewToolResultError(msg)
		}
		return mcp.NewToolResultError(fmt.Sprintf("TaskManager failed (HTTP %d)", ue.Status))
	}
	s.log.WarnContext(ctx, "TaskManager call failed", "err", err)
	return mcp.NewToolResultError("TaskManager is unreachable; try again shortly")
}

func jsonResult(v any) (*mcp.CallToolResult, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return mcp.NewToolResultStructured(v, string(b)), nil
}
