package authserver

import (
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
)

// OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2: a refresh token is single use;
// within the grace window, while its answer is kept, a retry gets that
// answer again; any other reuse revokes the family.
func TestRotation_SingleUseWithRepeatedAnswer(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	kept := func(until time.Time) store.Answer { return store.Answer{Sealed: []byte("x"), Until: until} }
	cases := []struct {
		name string
		old  store.Token
		want store.Rotation
	}{
		{"Unused", store.Token{}, store.RotateFirst},
		{"RetryWithinGrace", store.Token{UsedAt: now.Add(-5 * time.Second), Answer: kept(now.Add(5 * time.Second))}, store.RotateRetry},
		{"RetryAtTheEnd", store.Token{UsedAt: now.Add(-10 * time.Second), Answer: kept(now)}, store.RevokeFamily},
		{"AnswerDropped", store.Token{UsedAt: now.Add(-time.Second)}, store.RevokeFamily},
		{"AnswerUnsealedButExpired", store.Token{UsedAt: now.Add(-time.Minute), Answer: kept(now.Add(-time.Second))}, store.RevokeFamily},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rotation(&tc.old, now); got != tc.want {
				t.Fatalf("rotation = %d, want %d", got, tc.want)
			}
		})
	}
}
