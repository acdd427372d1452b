package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RegisteredClient is an OAuth client as TaskManager's /api/oauth/clients
// shows it.
type RegisteredClient struct {
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret,omitempty"`
	Name         string    `json:"client_name"`
	RedirectURIs []string  `json:"redirect_uris"`
	Scopes       []string  `json:"scopes"`
	CreatedAt    time.Time `json:"created_at"`
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

// ParseSession accepts "value" or "name=value" for the cookie.
func ParseSession(name, raw string) Session {
	raw = strings.TrimSpace(raw)
	if n, v, ok := strings.Cut(raw, "="); ok && n == name {
		return Session{CookieName: name, Value: v}
	}
	return Session{CookieName: name, Value: raw}
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
	var body *bytes.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	endpoint := c.Endpoint(c.cfg.ClientsEndpoint)
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: s.CookieName, Value: s.Value})
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach TaskManager at %s: %s", redactURL(endpoint), describeNetError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%w (HTTP %d)", ErrSessionRefused, resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" {
		return fmt.Errorf("TaskManager at %s answered %s (HTTP %d) instead of JSON: is --taskmanager-url its base URL?", redactURL(endpoint), orUnknown(mt), resp.StatusCode)
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = dec.Decode(&e)
		return &Error{Status: resp.StatusCode, Code: e.Code, Description: e.Description}
	}
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("TaskManager's answer from %s is not the JSON expected: %v", redactURL(endpoint), err)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	var out RegisteredClient
	err = c.doJSON(req, &out)
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
