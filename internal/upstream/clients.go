package upstream

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// RegisteredClient is an OAuth client as TaskManager's /api/oauth/clients
// shows it.
type RegisteredClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Name         string   `json:"client_name"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	// AuthMethod is how the client authenticates at TaskManager; "none"
	// marks a public client.
	AuthMethod string    `json:"token_endpoint_auth_method,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// NewClient is what `client register` asks TaskManager for.
type NewClient struct {
	Name         string   `json:"client_name"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes,omitempty"`
}

// Session is an operator's browser session at TaskManager.
type Session struct {
	CookieName string
	Value      string
}

// ErrSessionRefused means TaskManager did not accept the session cookie.
var ErrSessionRefused = errors.New("TaskManager refused the session cookie: it is expired or wrong; log in again in the browser and copy the new cookie")

// ParseSession reads the cookie in the shapes people copy it; see
// SessionFrom. What it cannot read is kept whole, for TaskManager to
// refuse.
func ParseSession(name, raw string) Session {
	s, err := SessionFrom(name, raw)
	if err != nil {
		return Session{CookieName: name, Value: strings.TrimSpace(raw)}
	}
	return s
}

// SessionFrom reads the session cookie named name from what a person
// copied: its value, "name=value", a whole cookie string ("a=b;
// name=value", as the browser's Network tab shows the request's Cookie
// header) or that header line itself ("Cookie: …"). From a cookie string
// it picks the cookie named name; a string without it is an error that
// names the cookies it has (never their values).
func SessionFrom(name, raw string) (Session, error) {
	raw = strings.TrimSpace(raw)
	if h, rest, ok := strings.Cut(raw, ":"); ok && strings.EqualFold(strings.TrimSpace(h), "cookie") {
		raw = strings.TrimSpace(rest)
	}
	parts := strings.Split(raw, ";")
	var names []string
	for _, p := range parts {
		n, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.TrimSpace(n) == name {
			return Session{CookieName: name, Value: strings.Trim(strings.TrimSpace(v), `"`)}, nil
		}
		if ok {
			names = append(names, strings.TrimSpace(n))
		}
	}
	if len(parts) > 1 {
		return Session{}, fmt.Errorf("the cookies you gave (%s) hold no %q cookie: copy TaskManager's %q cookie (or set --cookie-name to the name of its session cookie)",
			strings.Join(names, ", "), name, name)
	}
	// One value, which may itself hold "=" (base64 padding).
	if strings.ContainsAny(raw, " \t\"") {
		return Session{}, fmt.Errorf("a cookie value holds no spaces or quotes: copy only the value of TaskManager's %q cookie", name)
	}
	return Session{CookieName: name, Value: raw}, nil
}

// ListClients lists the clients registered at TaskManager.
func (c *Client) ListClients(ctx context.Context, s Session) ([]RegisteredClient, error) {
	var out []RegisteredClient
	return out, c.clientsCall(ctx, s, http.MethodGet, nil, &out)
}

// RegisterClient registers a client at TaskManager; the answer holds the
// secret, which TaskManager shows only this once.
func (c *Client) RegisterClient(ctx context.Context, s Session, in NewClient) (*RegisteredClient, error) {
	var out RegisteredClient
	if err := c.clientsCall(ctx, s, http.MethodPost, in, &out); err != nil {
		return nil, err
	}
	if out.ClientID == "" {
		return nil, fmt.Errorf("%w: the registration answer has no client_id", ErrUnavailable)
	}
	return &out, nil
}

func (c *Client) clientsCall(ctx context.Context, s Session, method string, in, out any) error {
	if s.Value == "" {
		return errors.New("no session cookie given")
	}
	endpoint := c.Endpoint(c.cfg.ClientsEndpoint)
	call := oauth.Call{Method: method, URL: endpoint, Header: http.Header{"Cookie": {(&http.Cookie{Name: s.CookieName, Value: s.Value}).String()}}}
	if in != nil {
		call.JSON = in
	}
	a, err := oauth.Do(ctx, c.http, call)
	if err != nil {
		return fmt.Errorf("cannot reach TaskManager: %w", err)
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		return fmt.Errorf("%w (HTTP %d)", ErrSessionRefused, a.Status)
	}
	if mt, _, _ := mime.ParseMediaType(a.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("TaskManager at %s answered %s (HTTP %d) instead of JSON: is --taskmanager-url its base URL?", oauth.Redact(endpoint), orUnknown(mt), a.Status)
	}
	err = a.Decode(out)
	var ae *oauth.AnswerError
	switch {
	case errors.As(err, &ae):
		return answered(ae)
	case err != nil:
		return fmt.Errorf("TaskManager's answer from %s is not the JSON expected", oauth.Redact(endpoint))
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// ErrNoSuchClient means TaskManager does not know the client id.
var ErrNoSuchClient = errors.New("TaskManager does not know this client")

// LookupClient asks TaskManager about a client id, authenticated with
// tmcp's own client credentials (HTTP Basic, RFC 6749 §2.3.1 encoding).
func (c *Client) LookupClient(ctx context.Context, id string) (*RegisteredClient, error) {
	u := c.Endpoint(c.cfg.ClientsEndpoint) + "/" + url.PathEscape(id)
	var out RegisteredClient
	err := c.call(ctx, oauth.Call{URL: u, Client: oauth.ClientCredentials{ID: c.cfg.ClientID, Secret: c.cfg.ClientSecret}}, &out)
	var ue *Error
	switch {
	case errors.As(err, &ue) && ue.Status == http.StatusNotFound:
		return nil, ErrNoSuchClient
	case err != nil:
		return nil, err
	case out.ClientID != id:
		return nil, fmt.Errorf("%w: asked for client %q, TaskManager answered %q", ErrUnavailable, id, out.ClientID)
	}
	return &out, nil
}
