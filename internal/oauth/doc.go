// Package oauth holds the protocol pieces that every side of tmcp shares:
// RFC 6749 errors, PKCE (RFC 7636), client authentication (RFC 6749 §2.3),
// redirect-URI rules (RFC 8252, OAuth 2.1), scopes, and the metadata
// documents of RFC 8414 and RFC 9728.
package oauth
