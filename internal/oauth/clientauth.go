package oauth

import (
	"net/http"
	"net/url"
)

// Client authentication methods (RFC 7591 §2).
const (
	AuthMethodBasic = "client_secret_basic"
	AuthMethodPost  = "client_secret_post"
	AuthMethodNone  = "none"
)

// ClientCredentials are what a request presented to authenticate a client.
type ClientCredentials struct {
	ID     string
	Secret string
	Method string
}

// ReadClientCredentials reads the client's credentials from HTTP Basic or
// the form body (RFC 6749 §2.3.1), or only its client_id for public
// clients. r.ParseForm must have run. Using two methods at once is refused
// (§2.3: "MUST NOT use more than one authentication method").
func ReadClientCredentials(r *http.Request) (ClientCredentials, *Error) {
	user, pass, basic := r.BasicAuth()
	formSecret := r.PostForm.Get("client_secret")
	formID := r.PostForm.Get("client_id")
	if basic {
		if formSecret != "" {
			return ClientCredentials{}, InvalidRequest("the client authenticated with more than one method")
		}
		// §2.3.1: the id and secret are form-urlencoded before Basic encoding.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || id == "" {
			return ClientCredentials{}, InvalidClient("malformed HTTP Basic credentials")
		}
		if formID != "" && formID != id {
			return ClientCredentials{}, InvalidRequest("client_id in the body differs from the authenticated client")
		}
		if secret == "" {
			// Some libraries send a public client's id as Basic with an
			// empty password: that is no authentication at all.
			return ClientCredentials{ID: id, Method: AuthMethodNone}, nil
		}
		return ClientCredentials{ID: id, Secret: secret, Method: AuthMethodBasic}, nil
	}
	if formID == "" {
		return ClientCredentials{}, InvalidClient("client authentication is required")
	}
	if formSecret != "" {
		return ClientCredentials{ID: formID, Secret: formSecret, Method: AuthMethodPost}, nil
	}
	return ClientCredentials{ID: formID, Method: AuthMethodNone}, nil
}
