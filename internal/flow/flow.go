// Package flow is `tmcp flow test`: the operator's end-to-end check, and a
// complete MCP client. From an MCP server's URL alone it talks MCP and
// signs in when the server asks: on a 401 it discovers the authorization
// server (RFC 9728, RFC 8414), registers (pre-registered, Client ID
// Metadata Document or RFC 7591), signs in through the browser with PKCE
// S256 and a resource indicator (RFC 8707), checks state and iss (RFC
// 9207); on a 403 insufficient_scope it signs in again for the union of
// the scopes (step-up, SEP-2350), a bounded number of times. Then it probes
// refresh, revocation and CORS, reporting each step.
package flow

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Options configure a run.
type Options struct {
	Server       string // the MCP endpoint URL
	SSE          bool   // use the legacy SSE transport
	ClientID     string // skip registration and use this client
	ClientSecret string
	// ClientKey signs private_key_jwt client assertions (RFC 7523).
	ClientKey crypto.Signer
	// Grant is authorization_code (a user signs in; the default),
	// client_credentials (the client itself, no browser) or id-jag (the
	// user's identity provider vouches, no browser).
	Grant string
	IdP   IdP // for id-jag
	// ClientIDMetadataURL is this client's metadata document (CIMD): used
	// as the client id when the authorization server supports it.
	ClientIDMetadataURL string
	CallbackPort        int
	Scope               string // default: what the server's 401 asks for
	// Calls are tools to call (with no arguments) besides tmcp's own.
	Calls     []string
	NoBrowser bool
	Timeout   time.Duration // for each browser step
	// SkipProbes stops after the tool calls: no refresh, revocation or
	// CORS probes.
	SkipProbes bool
	// Strict makes warnings (optional properties a server lacks) fail.
	Strict bool
	// AllowUnprotected passes a server that asks for no token; by
	// default that fails: tmcp is there to protect it.
	AllowUnprotected bool
	// Open opens the authorization URL; default OpenBrowser.
	Open func(url string) error
	// Prompt receives instructions for the person at the terminal.
	Prompt io.Writer
	// Notify is called as each step finishes.
	Notify func(*Step)
	// Dev says the servers are tmcp dev's, so a fix may say "tmcp dev".
	Dev bool
	// KeepClient keeps the client the run registered; otherwise it is
	// deleted at the end (RFC 7592) where the server allows it.
	KeepClient bool
	// DPoP gets a token bound to a fresh key (RFC 9449), calls with
	// proofs of it, and checks the token is refused without one.
	DPoP bool
	HTTP *http.Client
	// Log receives each step and HTTP exchange at debug level.
	Log *slog.Logger
}

// Step names.
const (
	stepProbe    = "discover"
	stepPRM      = "resource meta"
	stepASMeta   = "auth meta"
	stepRegister = "register"
	stepBrowser  = "sign in"
	stepToken    = "token"
	stepStepUp   = "step-up"
	stepInit     = "initialize"
	stepTools    = "tools/list"
	stepWhoami   = "whoami"
	stepRead     = "list_tasks"
	stepWrite    = "create_task"
	stepRefresh  = "refresh"
	stepRevoke   = "revoke"
	stepCORS     = "cors"
	stepCleanup  = "unregister"
)

// Authorization bounds (MCP authorization, scope challenge handling): a
// request is retried after at most maxStepUps step-ups, and a run signs in
// at most maxSignIns times, so a server that never accepts ends the run.
const (
	maxStepUps = 2
	maxSignIns = 3
)

type runner struct {
	opts   Options
	report *Report
	mu     sync.Mutex // guards report

	// authMu serialises sign-ins; the fields below it change under it.
	authMu      sync.Mutex
	challenge   oauth.BearerChallenge
	prm         oauth.ProtectedResourceMetadata
	meta        oauth.ServerMetadata
	discovered  bool
	signIns     int
	redirectURI string
	clientID    string
	secret      string
	authMethod  string // how this client authenticates at the token endpoint
	verifier    string
	state       string
	code        string
	access      string
	refresh     string
	asked       []string // the scopes asked for last
	scope       []string // the scopes granted
	legacy      bool     // a 2025-03-26 server without resource metadata

	access2  string
	refresh2 string
	mcp      *client.Client
	callback *callbackServer
	// runCtx is the run's context: sign-ins started from inside an MCP
	// request outlive that request's deadline.
	runCtx context.Context
	// registrationURI and registrationToken delete the client this run
	// registered (RFC 7592).
	registrationURI, registrationToken string
	tools                              []toolInfo
	// dpop is set with Options.DPoP.
	dpop *dpopState
}

// Run runs the whole flow and returns its report; Report.OK tells success.
func Run(ctx context.Context, opts Options) *Report {
	if opts.HTTP == nil {
		opts.HTTP = oauth.NewHTTPClient(15 * time.Second)
	}
	if opts.Log != nil {
		hc := *opts.HTTP
		hc.Transport = &logTransport{base: baseTransport(opts.HTTP), log: opts.Log}
		opts.HTTP = &hc
	}
	if opts.Open == nil {
		opts.Open = OpenBrowser
	}
	if opts.Prompt == nil {
		opts.Prompt = io.Discard
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	r := &runner{opts: opts, report: &Report{Server: opts.Server, Strict: opts.Strict}, clientID: opts.ClientID, secret: opts.ClientSecret,
		runCtx: ctx}
	if opts.DPoP {
		key, err := dpop.NewKey()
		if err != nil {
			r.report.Steps = append(r.report.Steps, &Step{Name: stepDPoP, Error: "could not make a DPoP key: " + err.Error()})
			return r.report
		}
		r.dpop = &dpopState{key: key, nonces: map[string]string{}}
	}
	start := time.Now()
	defer func() {
		r.report.Millis = time.Since(start).Milliseconds()
		r.report.OK = r.report.Failed() == nil
		if r.mcp != nil {
			r.mcp.Close()
		}
		if r.callback != nil {
			r.callback.close()
		}
	}()
	steps := []step{{stepInit, r.initialize}, {stepTools, r.listTools}, {stepWhoami, r.whoami}, {stepRead, r.readTool}}
	for _, name := range opts.Calls {
		steps = append(steps, step{name, func(ctx context.Context) (string, error) { return r.callNamed(ctx, name) }})
	}
	steps = append(steps, step{stepWrite, r.writeTool})
	if opts.DPoP {
		steps = append(steps, step{stepDPoP, r.dpopProbe})
	}
	if !opts.SkipProbes {
		steps = append(steps, step{stepRefresh, r.refreshProbe}, step{stepRevoke, r.revoke}, step{stepCORS, r.cors})
	}
	for _, s := range steps {
		if !r.run(ctx, s.name, s.fn) {
			break
		}
	}
	if r.registrationURI != "" && !opts.KeepClient {
		r.run(ctx, stepCleanup, r.unregister)
	}
	return r.report
}

type step struct {
	name string
	fn   func(context.Context) (string, error)
}

// errSkip marks a step that does not apply; its message is the reason.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// errWarn marks a step that found a missing optional property: reported,
// and a failure only with Strict.
type errWarn struct{ problem string }

func (e errWarn) Error() string { return e.problem }

func (r *runner) run(ctx context.Context, name string, fn func(context.Context) (string, error)) bool {
	start := time.Now()
	detail, err := fn(ctx)
	s := &Step{Name: name, OK: err == nil, Duration: time.Since(start), Detail: detail}
	s.Millis = s.Duration.Milliseconds()
	var skip errSkip
	var warn errWarn
	switch {
	case errors.As(err, &skip):
		s.OK, s.Skipped, s.Detail = true, true, skip.reason
	case errors.As(err, &warn):
		s.OK, s.Warning, s.Detail = true, true, warn.problem
		s.Hint = hintFor(name, warn.problem)
	case err != nil:
		s.Error = err.Error()
		if s.Hint = r.diagnose(ctx, name, s.Error); s.Hint == "" {
			s.Hint = hintFor(name, s.Error)
		}
		if s.Hint == "" {
			// Every failure gets a fix line, if only where to look.
			s.Hint = fmt.Sprintf("The error above is the server's answer at step %q; see docs/troubleshooting.md, and run the servers with --log-level debug to see their side.", name)
		}
	}
	if r.opts.Log != nil {
		r.opts.Log.DebugContext(ctx, "flow step", "step", name, "ok", s.OK, "skipped", s.Skipped, "took", s.Duration.Round(time.Millisecond))
	}
	r.mu.Lock()
	r.report.Steps = append(r.report.Steps, s)
	r.mu.Unlock()
	if r.opts.Notify != nil {
		r.opts.Notify(s)
	}
	return s.OK || s.Skipped
}
