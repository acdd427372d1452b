package oauth

import (
	"slices"
	"strings"
)

// ParseScope splits a space-delimited scope string (RFC 6749 §3.3) into its
// distinct tokens, in order.
func ParseScope(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// JoinScope is the inverse of ParseScope.
func JoinScope(scopes []string) string { return strings.Join(scopes, " ") }

// ScopeSubset reports whether every scope in want is in have.
func ScopeSubset(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// ValidScopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// %x21 / %x23-5B / %x5D-7E.
func ValidScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
