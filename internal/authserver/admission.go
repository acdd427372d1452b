package authserver

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Admission says who may sign in. Empty lists admit everyone the provider
// signs in; otherwise a user named by any list is admitted. Addresses
// count only as the provider verified them (upstream.User.Email), and are
// compared without Unicode case folding (see sameAddress).
type Admission struct {
	// Users are subjects (matched exactly: OpenID Connect Core §5.7),
	// addresses (matched against the verified one) or usernames (matched
	// only when the operator named the username's claim).
	Users []string
	// Domains are email domains (example.com) the user's verified
	// address must be in.
	Domains []string
	// Groups are values of the provider's groups claim.
	Groups []string
}

func (a Admission) open() bool { return len(a.Users) == 0 && len(a.Domains) == 0 && len(a.Groups) == 0 }

// Check refuses an entry that no user could ever match, so a mistyped
// list stops the start instead of refusing everyone quietly.
func (a Admission) Check() error {
	for _, d := range a.Domains {
		if err := CheckAllowedDomain(d); err != nil {
			return fmt.Errorf("allowed domains: %w", err)
		}
	}
	for _, u := range a.Users {
		if err := CheckAllowedUser(u); err != nil {
			return fmt.Errorf("allowed users: %w", err)
		}
	}
	return nil
}

// CheckAllowedDomain says why d is no email domain, or nil.
func CheckAllowedDomain(d string) error {
	if _, err := asciiDomain(strings.TrimPrefix(d, "@")); err != nil {
		return fmt.Errorf("%q is not a valid domain name (%v)", d, err)
	}
	return nil
}

// CheckAllowedUser says why u, which names an address, is no valid
// address, or nil; a subject or username may be anything but empty.
func CheckAllowedUser(u string) error {
	if u == "" {
		return fmt.Errorf("an entry is empty")
	}
	if at := strings.LastIndexByte(u, '@'); at >= 0 {
		if at == 0 {
			return fmt.Errorf("%q has nothing before the @ (a whole domain goes in the allowed domains)", u)
		}
		if _, err := asciiDomain(u[at+1:]); err != nil {
			return fmt.Errorf("%q is not an address with a valid domain name (%v)", u, err)
		}
	}
	return nil
}

// Admit returns "" when u may sign in, else why not (shown to the user).
func (a Admission) Admit(u *upstream.User) string {
	if a.open() {
		return ""
	}
	for _, allowed := range a.Users {
		switch {
		case allowed == "":
		case allowed == u.Subject:
			return ""
		case u.Email != "" && sameAddress(allowed, u.Email):
			return ""
		case u.UsernameChosen && u.Username != "" && (asciiEqualFold(allowed, u.Username) || sameAddress(allowed, u.Username)):
			return ""
		}
	}
	if _, domain, ok := splitAddress(u.Email); ok && slices.ContainsFunc(a.Domains, func(d string) bool {
		allowed, err := asciiDomain(strings.TrimPrefix(d, "@"))
		return err == nil && allowed == domain
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

// asciiDomain is d in IDNA's ASCII form, lowered in ASCII only and
// without UTS #46 mapping (RFC 5891 §5's registration rules): Unicode
// case folding would take the Kelvin sign U+212A for k, so a domain
// spelled with it is invalid, never equal to one with k.
func asciiDomain(d string) (string, error) {
	return idna.Registration.ToASCII(strings.TrimSuffix(asciiLower(d), "."))
}

// splitAddress is an address's local part and its domain in ASCII form.
func splitAddress(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", "", false
	}
	domain, err := asciiDomain(addr[at+1:])
	if err != nil {
		return "", "", false
	}
	return addr[:at], domain, true
}

// sameAddress compares addresses as mail does, without Unicode folding:
// the domain in IDNA's ASCII form, the local part up to ASCII case.
func sameAddress(a, b string) bool {
	al, ad, ok := splitAddress(a)
	bl, bd, ok2 := splitAddress(b)
	return ok && ok2 && ad == bd && asciiEqualFold(al, bl)
}

// asciiEqualFold is strings.EqualFold for ASCII letters only: any other
// byte must be equal.
func asciiEqualFold(a, b string) bool {
	return len(a) == len(b) && asciiLower(a) == asciiLower(b)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
