package authserver

import (
	"slices"
	"strings"

	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

// Admission says who may sign in. Empty lists admit everyone the provider
// signs in; otherwise a user named by any list is admitted.
type Admission struct {
	// Users are usernames, addresses or subjects.
	Users []string
	// Domains are email domains (example.com); the provider's address
	// must be verified there, which it is for OpenID providers that
	// return it.
	Domains []string
	// Groups are values of the provider's groups claim.
	Groups []string
}

func (a Admission) open() bool { return len(a.Users) == 0 && len(a.Domains) == 0 && len(a.Groups) == 0 }

// Admit returns "" when u may sign in, else why not (shown to the user).
func (a Admission) Admit(u *upstream.User) string {
	if a.open() {
		return ""
	}
	for _, name := range []string{u.Username, u.Email, u.Subject} {
		if name != "" && slices.ContainsFunc(a.Users, func(allowed string) bool { return strings.EqualFold(allowed, name) }) {
			return ""
		}
	}
	if _, domain, ok := strings.Cut(u.Email, "@"); ok && slices.ContainsFunc(a.Domains, func(d string) bool {
		return strings.EqualFold(strings.TrimPrefix(d, "@"), domain)
	}) {
		return ""
	}
	for _, g := range u.Groups {
		if slices.Contains(a.Groups, g) {
			return ""
		}
	}
	return "it is not on the list of allowed users, email domains or groups"
}
