package store

import (
	"context"
	"time"
)

// WithTimeout bounds every call to s by d, so that a frozen database makes
// a request fail (and be answered 503) instead of hang.
func WithTimeout(s Store, d time.Duration) Store {
	if d <= 0 {
		return s
	}
	return &timeoutStore{s: s, d: d}
}

type timeoutStore struct {
	s Store
	d time.Duration
}

func (t *timeoutStore) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.d)
}

func (t *timeoutStore) do(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return f(ctx)
}

func with[T any](t *timeoutStore, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return f(ctx)
}

func (t *timeoutStore) CreateClient(ctx context.Context, c *Client) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.CreateClient(ctx, c) })
}

func (t *timeoutStore) GetClient(ctx context.Context, id string) (*Client, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.GetClient(ctx, id)
}

func (t *timeoutStore) ListClients(ctx context.Context) ([]*Client, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.ListClients(ctx)
}

func (t *timeoutStore) DeleteClient(ctx context.Context, id string, at time.Time) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.DeleteClient(ctx, id, at) })
}

func (t *timeoutStore) SavePending(ctx context.Context, p *Pending) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.SavePending(ctx, p) })
}

func (t *timeoutStore) TakePending(ctx context.Context, stateHash, browserHash string) (*Pending, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.TakePending(ctx, stateHash, browserHash)
}

func (t *timeoutStore) CreateGrant(ctx context.Context, g *Grant) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.CreateGrant(ctx, g) })
}

func (t *timeoutStore) GetGrant(ctx context.Context, id string) (*Grant, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.GetGrant(ctx, id)
}

func (t *timeoutStore) NewestGrant(ctx context.Context) (*Grant, error) {
	return with(t, ctx, func(ctx context.Context) (*Grant, error) { return t.s.NewestGrant(ctx) })
}

func (t *timeoutStore) UpdateUpstream(ctx context.Context, grantID string, sealed []byte, expiresAt time.Time) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.UpdateUpstream(ctx, grantID, sealed, expiresAt) })
}

func (t *timeoutStore) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.RevokeGrant(ctx, grantID, at) })
}

func (t *timeoutStore) RevokeGrantsOf(ctx context.Context, subject, clientID string, at time.Time) (int, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.RevokeGrantsOf(ctx, subject, clientID, at)
}

func (t *timeoutStore) SaveCode(ctx context.Context, c *Code) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.SaveCode(ctx, c) })
}

func (t *timeoutStore) ConsumeCode(ctx context.Context, hash string, at time.Time) (*Code, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.ConsumeCode(ctx, hash, at)
}

func (t *timeoutStore) SaveTokens(ctx context.Context, tokens ...*Token) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.SaveTokens(ctx, tokens...) })
}

func (t *timeoutStore) GetToken(ctx context.Context, hash string) (*Token, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.GetToken(ctx, hash)
}

func (t *timeoutStore) GetTokenGrant(ctx context.Context, hash string) (*Token, *Grant, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.GetTokenGrant(ctx, hash)
}

func (t *timeoutStore) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.RevokeToken(ctx, hash, at) })
}

func (t *timeoutStore) RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide RotationPolicy, issue []*Token, answer Answer) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.RotateRefresh(ctx, oldHash, at, decide, issue, answer) })
}

func (t *timeoutStore) SaveKey(ctx context.Context, k *SigningKey) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.SaveKey(ctx, k) })
}

func (t *timeoutStore) ListKeys(ctx context.Context) ([]*SigningKey, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.ListKeys(ctx)
}

func (t *timeoutStore) RetireKeys(ctx context.Context, at time.Time) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.RetireKeys(ctx, at) })
}

func (t *timeoutStore) Sweep(ctx context.Context, now time.Time, keep Retention) (int64, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return t.s.Sweep(ctx, now, keep)
}

func (t *timeoutStore) ProbeWrite(ctx context.Context, at time.Time) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.ProbeWrite(ctx, at) })
}

func (t *timeoutStore) Ping(ctx context.Context) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.Ping(ctx) })
}

func (t *timeoutStore) Close() error { return t.s.Close() }

func (t *timeoutStore) GetUpstreamClient(ctx context.Context) ([]byte, error) {
	return with(t, ctx, t.s.GetUpstreamClient)
}

func (t *timeoutStore) ClaimUpstreamRegistration(ctx context.Context, holder string, now, until time.Time) (bool, error) {
	return with(t, ctx, func(ctx context.Context) (bool, error) { return t.s.ClaimUpstreamRegistration(ctx, holder, now, until) })
}

func (t *timeoutStore) SaveUpstreamClient(ctx context.Context, holder string, sealed []byte) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.SaveUpstreamClient(ctx, holder, sealed) })
}

func (t *timeoutStore) UpdateClient(ctx context.Context, c *Client) error {
	return t.do(ctx, func(ctx context.Context) error { return t.s.UpdateClient(ctx, c) })
}
