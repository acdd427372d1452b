package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

func (s *Store) SavePending(ctx context.Context, p *store.Pending) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO pendings (state_hash, browser_hash, client_id,
		redirect_uri, scope, resource, code_challenge, client_state, upstream_verifier, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.StateHash, p.BrowserHash, p.ClientID, p.RedirectURI, p.Scope, p.Resource,
		p.CodeChallenge, p.ClientState, p.UpstreamVerifier, ts(p.ExpiresAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return store.ErrConflict
	}
	return err
}

func (s *Store) TakePending(ctx context.Context, stateHash, browserHash string) (*store.Pending, error) {
	var p store.Pending
	var exp int64
	// DELETE … RETURNING makes find-and-consume one statement: two
	// callbacks with the same state cannot both get it.
	err := s.db.QueryRowContext(ctx, `DELETE FROM pendings WHERE state_hash = ? AND browser_hash = ? RETURNING
		state_hash, browser_hash, client_id, redirect_uri, scope, resource, code_challenge,
		client_state, upstream_verifier, expires_at`, stateHash, browserHash).
		Scan(&p.StateHash, &p.BrowserHash, &p.ClientID, &p.RedirectURI, &p.Scope, &p.Resource,
			&p.CodeChallenge, &p.ClientState, &p.UpstreamVerifier, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		if s.db.QueryRowContext(ctx, `SELECT 1 FROM pendings WHERE state_hash = ?`, stateHash).Scan(&one) == nil {
			return nil, store.ErrNotYours
		}
	}
	if err != nil {
		return nil, notFound(err)
	}
	p.ExpiresAt = fromTS(exp)
	return &p, nil
}

func (s *Store) CreateGrant(ctx context.Context, g *store.Grant) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO grants (id, client_id, subject, username, scope,
		resource, redirect_uri, upstream, upstream_expires_at, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.ClientID, g.Subject, g.Username, g.Scope, g.Resource, g.RedirectURI,
		g.Upstream, ts(g.UpstreamExpiresAt), ts(g.CreatedAt), ts(g.RevokedAt))
	return err
}

func (s *Store) GetGrant(ctx context.Context, id string) (*store.Grant, error) {
	var g store.Grant
	var upExp, created, revoked int64
	err := s.db.QueryRowContext(ctx, `SELECT id, client_id, subject, username, scope, resource,
		redirect_uri, upstream, upstream_expires_at, created_at, revoked_at FROM grants WHERE id = ?`, id).
		Scan(&g.ID, &g.ClientID, &g.Subject, &g.Username, &g.Scope, &g.Resource, &g.RedirectURI,
			&g.Upstream, &upExp, &created, &revoked)
	if err != nil {
		return nil, notFound(err)
	}
	g.UpstreamExpiresAt, g.CreatedAt, g.RevokedAt = fromTS(upExp), fromTS(created), fromTS(revoked)
	return &g, nil
}

func (s *Store) NewestGrant(ctx context.Context) (*store.Grant, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM grants WHERE length(upstream) > 0 ORDER BY created_at DESC LIMIT 1`).Scan(&id)
	if err != nil {
		return nil, notFound(err)
	}
	return s.GetGrant(ctx, id)
}

func (s *Store) UpdateUpstream(ctx context.Context, grantID string, sealed []byte, expiresAt time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE grants SET upstream = ?, upstream_expires_at = ? WHERE id = ?`,
		sealed, ts(expiresAt), grantID)
	if err != nil {
		return err
	}
	return mustAffect(res)
}

func (s *Store) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := revokeGrantTx(ctx, tx, grantID, at); err != nil {
		return err
	}
	return tx.Commit()
}

func revokeGrantTx(ctx context.Context, tx *sql.Tx, grantID string, at time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ts(at), grantID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM grants WHERE id = ?`, grantID).Scan(&one); err != nil {
			return notFound(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at = 0`, ts(at), grantID); err != nil {
		return err
	}
	// An unused code of a revoked grant must not be redeemable either.
	_, err = tx.ExecContext(ctx, `UPDATE codes SET used_at = ? WHERE grant_id = ? AND used_at = 0`, ts(at), grantID)
	return err
}

func (s *Store) SaveCode(ctx context.Context, c *store.Code) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO codes (hash, grant_id, client_id, redirect_uri,
		code_challenge, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.GrantID, c.ClientID, c.RedirectURI, c.CodeChallenge, ts(c.ExpiresAt), ts(c.UsedAt))
	return err
}

func (s *Store) ConsumeCode(ctx context.Context, hash string, at time.Time) (*store.Code, error) {
	var c store.Code
	var exp, used int64
	// The conditional UPDATE is the atomic step: of two concurrent
	// redemptions exactly one sees a row.
	err := s.db.QueryRowContext(ctx, `UPDATE codes SET used_at = ? WHERE hash = ? AND used_at = 0
		RETURNING hash, grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at`, ts(at), hash).
		Scan(&c.Hash, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &exp, &used)
	if err == nil {
		c.ExpiresAt, c.UsedAt = fromTS(exp), fromTS(used)
		return &c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	err = s.db.QueryRowContext(ctx, `SELECT hash, grant_id, client_id, redirect_uri, code_challenge,
		expires_at, used_at FROM codes WHERE hash = ?`, hash).
		Scan(&c.Hash, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &exp, &used)
	if err != nil {
		return nil, notFound(err)
	}
	c.ExpiresAt, c.UsedAt = fromTS(exp), fromTS(used)
	return &c, store.ErrAlreadyUsed
}

func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) SaveKey(ctx context.Context, k *store.SigningKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, private, public, created_at, retired_at)
		VALUES (?, ?, ?, ?, ?, ?)`, k.KID, k.Alg, k.Private, k.Public, ts(k.CreatedAt), ts(k.RetiredAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return store.ErrConflict
	}
	return err
}

func (s *Store) ListKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kid, alg, private, public, created_at, retired_at FROM signing_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.SigningKey
	for rows.Next() {
		var k store.SigningKey
		var created, retired int64
		if err := rows.Scan(&k.KID, &k.Alg, &k.Private, &k.Public, &created, &retired); err != nil {
			return nil, err
		}
		k.CreatedAt, k.RetiredAt = fromTS(created), fromTS(retired)
		out = append(out, &k)
	}
	return out, rows.Err()
}

func (s *Store) RetireKeys(ctx context.Context, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0`, ts(at))
	return err
}

func (s *Store) RevokeGrantsOf(ctx context.Context, subject, clientID string, at time.Time) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int
	if subject != "" {
		n, err = revokeGrantsWhere(ctx, tx, `subject = ?`, subject, at)
	} else {
		n, err = revokeGrantsWhere(ctx, tx, `client_id = ?`, clientID, at)
	}
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// revokeGrantsWhere revokes every active grant matching cond (one ?).
func revokeGrantsWhere(ctx context.Context, tx *sql.Tx, cond string, arg any, at time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM grants WHERE revoked_at = 0 AND `+cond, arg)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := revokeGrantTx(ctx, tx, id, at); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
