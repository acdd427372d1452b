package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 7009, RFC 7591 and RFC 8707.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeServerError             = "server_error"
	CodeTemporarilyUnavailable  = "temporarily_unavailable"
	CodeUnsupportedTokenType    = "unsupported_token_type"
	CodeInvalidTarget           = "invalid_target"
	CodeInvalidRedirectURI      = "invalid_redirect_uri"
	CodeInvalidClientMetadata   = "invalid_client_metadata"
	CodeInvalidToken            = "invalid_token"
	CodeInsufficientScope       = "insufficient_scope"
)

// Error is an OAuth error response. It renders itself as a JSON body
// (RFC 6749 §5.2) or as redirect query parameters (§4.1.2.1) in one place.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Status is the HTTP status for a direct response; 400 when zero.
	Status int `json:"-"`
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter string `json:"-"`
}

func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// DefaultRetryAfter is the Retry-After, in seconds, of a 503 that names
// none of its own.
const DefaultRetryAfter = "5"

// NewError builds an Error with the status RFC 6749 §5.2 gives its code.
func NewError(code, description string) *Error {
	status := http.StatusBadRequest
	switch code {
	case CodeInvalidClient, CodeInvalidToken:
		status = http.StatusUnauthorized
	case CodeInsufficientScope:
		status = http.StatusForbidden
	case CodeServerError:
		status = http.StatusInternalServerError
	case CodeTemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	}
	return &Error{Code: code, Description: description, Status: status}
}

// Errorf-style helpers for the common codes keep handlers short.
func InvalidRequest(desc string) *Error { return NewError(CodeInvalidRequest, desc) }
func InvalidClient(desc string) *Error  { return NewError(CodeInvalidClient, desc) }
func InvalidGrant(desc string) *Error   { return NewError(CodeInvalidGrant, desc) }
func InvalidScope(desc string) *Error   { return NewError(CodeInvalidScope, desc) }
func ServerError(desc string) *Error    { return NewError(CodeServerError, desc) }

// WriteJSON writes e as an RFC 6749 §5.2 error body. A 401 for a client that
// tried HTTP Basic carries the WWW-Authenticate challenge §5.2 requires.
func WriteJSON(w http.ResponseWriter, r *http.Request, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	} else if status == http.StatusServiceUnavailable {
		// RFC 9110 §10.2.3: a 503 says when to try again, so a client
		// waits rather than give up or hammer.
		w.Header().Set("Retry-After", DefaultRetryAfter)
	}
	if status == http.StatusUnauthorized && e.Code == CodeInvalidClient && r != nil {
		if _, _, ok := r.BasicAuth(); ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="tmcp"`)
		}
	}
	WriteJSONBody(w, status, e)
}

// WriteJSONBody writes v as JSON with the no-store headers of RFC 6749 §5.1.
func WriteJSONBody(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// RedirectURL appends e to redirectURI as an authorization error response
// (RFC 6749 §4.1.2.1), with state and, per RFC 9207, the issuer.
func (e *Error) RedirectURL(redirectURI, state, issuer string) string {
	v := url.Values{}
	v.Set("error", e.Code)
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	return AppendQuery(redirectURI, v, state, issuer)
}

// AppendQuery adds params, state and iss to uri, keeping its own query.
func AppendQuery(uri string, params url.Values, state, issuer string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	if state != "" {
		q.Set("state", state)
	}
	if issuer != "" {
		q.Set("iss", issuer)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// FormError maps a request body that failed to parse to invalid_request,
// with 413 when it was too large (see httpx.LimitBody).
func FormError(err error) *Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		e := InvalidRequest("the request body is too large")
		e.Status = http.StatusRequestEntityTooLarge
		return e
	}
	return InvalidRequest("the request body is not a valid form")
}
