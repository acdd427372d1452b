package authserver

import (
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

// OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2: a refresh token is single use;
// one retry within the grace window, then reuse revokes the family.
func TestRotation_SingleUseWithOneRetry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	grace := 10 * time.Second
	cases := []struct {
		name  string
		old   store.Token
		grace time.Duration
		want  store.Rotation
	}{
		{"Unused", store.Token{}, grace, store.RotateFirst},
		{"RetryWithinGrace", store.Token{UsedAt: now.Add(-5 * time.Second)}, grace, store.RotateRetry},
		{"RetryAtTheEdge", store.Token{UsedAt: now.Add(-grace)}, grace, store.RotateRetry},
		{"RetryAfterGrace", store.Token{UsedAt: now.Add(-grace - time.Second)}, grace, store.RevokeFamily},
		{"SecondRetry", store.Token{UsedAt: now.Add(-time.Second), GraceUsed: true}, grace, store.RevokeFamily},
		{"NoGraceConfigured", store.Token{UsedAt: now.Add(-time.Second)}, 0, store.RevokeFamily},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rotation(&tc.old, now, tc.grace); got != tc.want {
				t.Fatalf("rotation = %d, want %d", got, tc.want)
			}
		})
	}
}
