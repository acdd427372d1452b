package resource

import (
	"context"
	"errors"

	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/tasktools"
)

// newMCPServer is the MCP server of the built-in tools, acting on
// TaskManager as the caller: with the caller's TaskManager token, from
// the token exchange, and never the MCP token.
func (s *Server) newMCPServer() *server.MCPServer {
	return tasktools.New(tasktools.Config{TaskManager: s.tm, TaskManagerURL: s.cfg.TaskManager, Access: taskAccess{s},
		User: toolUser, Version: s.cfg.Version, Log: s.log, Hooks: s.sessions.hooks()})
}

// toolUser is who a tool call is from: the principal requireToken put in
// its context.
func toolUser(ctx context.Context) (*tasktools.User, bool) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil, false
	}
	return &tasktools.User{Subject: p.Subject, Username: p.Username, ClientID: p.ClientID, Scopes: p.Scopes, Expiry: p.Expiry}, true
}

// taskAccess hands the tools the caller's TaskManager token.
type taskAccess struct{ s *Server }

func (a taskAccess) Token(ctx context.Context) (string, error) {
	p, _ := PrincipalFrom(ctx)
	token, err := a.s.auth.upstreamToken(ctx, p, a.s.cfg.TaskManager)
	var refusal *oauthRefusal
	var failing *authFailing
	switch {
	case errors.As(err, &refusal):
		return "", &tasktools.Refusal{Code: refusal.Code}
	case errors.As(err, &failing):
		return "", &tasktools.Unavailable{Reason: failing.Description}
	}
	return token, err
}

func (a taskAccess) Forget(ctx context.Context) {
	if p, ok := PrincipalFrom(ctx); ok {
		a.s.auth.forget(p.token, a.s.cfg.TaskManager)
	}
}
