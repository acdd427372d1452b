package oauth

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Grants are a token endpoint's handlers by grant type: the one place
// that says which grants it serves, for dispatch and for metadata.
type Grants[H any] map[string]H

// For finds the handler of the form's grant_type (RFC 6749 §5.2: a
// missing grant_type is invalid_request, one not served is
// unsupported_grant_type, naming those that are).
func (g Grants[H]) For(r *http.Request) (H, *Error) {
	var none H
	gt := r.PostForm.Get("grant_type")
	if gt == "" {
		return none, InvalidRequest("grant_type is missing")
	}
	h, ok := g[gt]
	if !ok {
		return none, NewError(CodeUnsupportedGrantType, "supported grant types: "+strings.Join(g.Types(), ", "))
	}
	return h, nil
}

// Types lists the grant types served, sorted, for grant_types_supported.
func (g Grants[H]) Types() []string {
	return slices.Sorted(maps.Keys(g))
}
