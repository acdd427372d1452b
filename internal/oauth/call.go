package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/telemetry"
)

// Grant and token types sent to token endpoints (RFC 6749 §4.1.3, §6;
// RFC 8693 §2.1, §3).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
)

// MaxAnswer bounds what a call reads of an answer.
const MaxAnswer = 1 << 20

// ErrUnreachable wraps a failure to get an answer at all: refused, reset,
// timed out, or an answer too large or cut short. It is a fault, never a
// verdict about a token or a client.
var ErrUnreachable = errors.New("no usable answer")

// unreachable says what went wrong and is ErrUnreachable.
type unreachable struct{ msg string }

func (e *unreachable) Error() string        { return e.msg }
func (e *unreachable) Is(target error) bool { return target == ErrUnreachable }

func unreachablef(format string, args ...any) error {
	return &unreachable{msg: fmt.Sprintf(format, args...)}
}

// Call is one request of an OAuth client: to a token, introspection,
// revocation, registration or metadata endpoint.
type Call struct {
	Method string // GET when empty and nothing is sent, else POST
	URL    string
	// Form is sent urlencoded; JSON is sent as a JSON body.
	Form url.Values
	JSON any
	// Client authenticates the request (RFC 6749 §2.3.1): with HTTP Basic,
	// or in the form for client_secret_post and public clients.
	Client ClientCredentials
	// Bearer is an access token to send (RFC 6750 §2.1).
	Bearer string
	Header http.Header
}

// Answer is an endpoint's answer, read in full.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	url    string
}

// AnswerError is an answer outside 2xx. Code and Description are its
// RFC 6749 §5.2 error, when the body held one.
type AnswerError struct {
	Status      int
	Code        string
	Description string
	URL         string // without query, user info or fragment
}

func (e *AnswerError) Error() string {
	msg := fmt.Sprintf("%s answered %d", e.URL, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Failing reports whether an answer with status and RFC 6749 §5.2 error
// code is the server failing rather than refusing: a 5xx, server_error or
// temporarily_unavailable (RFC 6749 §4.1.2.1). Such an answer decides
// nothing about the request.
func Failing(status int, code string) bool {
	return status >= 500 || code == CodeServerError || code == CodeTemporarilyUnavailable
}

// Refusal reports whether the answer refuses the request itself: it
// carries an OAuth error code and the server is not failing. A status
// without an OAuth error (a proxy's 404 page, an empty 400) refuses
// nothing in OAuth's terms.
func (e *AnswerError) Refusal() bool { return e.Code != "" && !Failing(e.Status, e.Code) }

// Do sends c with hc. A URL that came from outside and does not parse is
// an error, never a panic; transport failures wrap ErrUnreachable with the
// URL's query and user info left out, since they may carry secrets.
func Do(ctx context.Context, hc *http.Client, c Call) (*Answer, error) {
	var body io.Reader
	contentType := ""
	if basic := c.Client.basic(); basic != "" {
		c.Header = c.Header.Clone()
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header.Set("Authorization", basic)
	}
	switch {
	case c.Form != nil:
		form := url.Values{}
		for k, v := range c.Form {
			form[k] = v
		}
		c.Client.inForm(form)
		body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	case c.JSON != nil:
		raw, err := json.Marshal(c.JSON)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(raw), "application/json"
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%q is not a usable URL", Redact(c.URL))
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unreachablef("%s", DescribeNetError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, unreachablef("reading the answer of %s: %v", Redact(c.URL), err)
	}
	if len(raw) > MaxAnswer {
		return nil, unreachablef("the answer of %s is larger than %d bytes", Redact(c.URL), MaxAnswer)
	}
	return &Answer{Status: resp.StatusCode, Header: resp.Header, Body: raw, url: Redact(c.URL)}, nil
}

// Decode reads a 2xx JSON answer into out (nil: the body is not needed).
// Any other status is an *AnswerError; a 2xx body that is not JSON wraps
// ErrUnreachable, since nothing was decided.
func (a *Answer) Decode(out any) error {
	if a.Status < 200 || a.Status > 299 {
		e := &AnswerError{Status: a.Status, URL: a.url}
		var oe Error
		if json.Unmarshal(a.Body, &oe) == nil {
			e.Code, e.Description = oe.Code, oe.Description
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.Body, out); err != nil {
		return unreachablef("%s answered something other than JSON (%s)", a.url, a.Header.Get("Content-Type"))
	}
	return nil
}

// Fetch is Do followed by Decode.
func Fetch(ctx context.Context, hc *http.Client, c Call, out any) error {
	a, err := Do(ctx, hc, c)
	if err != nil {
		return err
	}
	return a.Decode(out)
}

// Classify puts err, an error of Do, Fetch or Decode, in the caller's
// terms, so that a fault is never taken for a verdict: an answer outside
// 2xx becomes what answered makes of it, or wraps fault where answered
// returns nil; every other failure (no answer, too large, not JSON) wraps
// fault, keeping err's text and ErrUnreachable. A nil err stays nil.
func Classify(err, fault error, answered func(*AnswerError) error) error {
	if err == nil {
		return nil
	}
	var ae *AnswerError
	if errors.As(err, &ae) {
		if out := answered(ae); out != nil {
			return out
		}
	}
	return fmt.Errorf("%w: %w", fault, err)
}

// basic is the HTTP Basic header value of a confidential client that
// authenticates so, with id and secret form-urlencoded first (RFC 6749
// §2.3.1); empty otherwise.
func (c ClientCredentials) basic() string {
	if c.ID == "" || c.Secret == "" || c.Method == AuthMethodPost || c.Method == AuthMethodNone {
		return ""
	}
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	return req.Header.Get("Authorization")
}

// inForm puts client_secret_post credentials, or a public client's id,
// into the form.
func (c ClientCredentials) inForm(form url.Values) {
	if c.ID == "" || c.basic() != "" {
		return
	}
	form.Set("client_id", c.ID)
	if c.Secret != "" {
		form.Set("client_secret", c.Secret)
	}
}

// Redact drops a URL's query, user info and fragment, which may carry
// secrets, for messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a malformed URL)"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}

// DescribeNetError keeps the kind of a transport failure and drops
// anything a URL might carry.
func DescribeNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("%s %s: the request timed out", strings.ToUpper(ue.Op), Redact(ue.URL))
		}
		return fmt.Sprintf("%s %s: %v", strings.ToUpper(ue.Op), Redact(ue.URL), ue.Err)
	}
	return err.Error()
}

// NewHTTPClient is an HTTP client with timeout and a connection pool of its
// own: closing the process-wide default pool's idle connections (as
// httptest servers do when they close) never breaks its requests. Each
// call is a client span whose trace context (traceparent) goes along.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: telemetry.Transport(http.DefaultTransport.(*http.Transport).Clone())}
}
