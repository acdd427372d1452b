package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

const tokenColumns = `hash, kind, grant_id, issuance, scope, issued_at, expires_at, revoked_at, used_at, successor, answer, answer_until`

func scanToken(row pgx.Row) (*store.Token, error) {
	var t store.Token
	var kind string
	var issued, exp, revoked, used, until int64
	if err := row.Scan(&t.Hash, &kind, &t.GrantID, &t.Issuance, &t.Scope, &issued, &exp, &revoked, &used, &t.Successor, &t.Answer.Sealed, &until); err != nil {
		return nil, notFound(err)
	}
	t.Kind = store.TokenKind(kind)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt, t.UsedAt = fromTS(issued), fromTS(exp), fromTS(revoked), fromTS(used)
	t.Answer.Until = fromTS(until)
	return &t, nil
}

func insertTokens(ctx context.Context, tx pgx.Tx, tokens []*store.Token) error {
	for _, t := range tokens {
		if _, err := tx.Exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			t.Hash, string(t.Kind), t.GrantID, t.Issuance, t.Scope, ts(t.IssuedAt), ts(t.ExpiresAt), ts(t.RevokedAt),
			ts(t.UsedAt), t.Successor, t.Answer.Sealed, ts(t.Answer.Until)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) SaveTokens(ctx context.Context, tokens ...*store.Token) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return insertTokens(ctx, tx, tokens) })
}

func (s *Store) GetToken(ctx context.Context, hash string) (*store.Token, error) {
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
}

func (s *Store) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, ts(at), hash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.GetToken(ctx, hash); err != nil {
			return err
		}
	}
	return nil
}

// RotateRefresh locks the old token's row (FOR UPDATE), so of two
// instances rotating the same token at once, the second waits and then
// sees it used.
func (s *Store) RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide store.RotationPolicy, issue []*store.Token, answer store.Answer) error {
	var reused bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1 FOR UPDATE`, oldHash))
		if err != nil {
			return err
		}
		if old.Kind != store.KindRefresh {
			return store.ErrNotFound
		}
		var grantRevoked int64
		if err := tx.QueryRow(ctx, `SELECT revoked_at FROM grants WHERE id = $1`, old.GrantID).Scan(&grantRevoked); err != nil {
			return notFound(err)
		}
		if grantRevoked != 0 || !old.RevokedAt.IsZero() {
			return store.ErrRevoked
		}
		successor := ""
		if len(issue) > 0 {
			successor = issue[0].Issuance
		}
		switch action := decide(old); action {
		case store.RotateFirst:
			if _, err = tx.Exec(ctx, `UPDATE tokens SET used_at = $1, successor = $2, answer = $3, answer_until = $4 WHERE hash = $5`,
				ts(at), successor, answer.Sealed, ts(answer.Until), oldHash); err != nil {
				return err
			}
			// The client holds this token, so it got its predecessor's answer.
			_, err = tx.Exec(ctx, `UPDATE tokens SET answer = NULL, answer_until = 0 WHERE successor = $1 AND answer_until != 0`, old.Issuance)
		case store.RotateRetry:
			return nil
		default:
			reused = true
			return revokeGrantTx(ctx, tx, old.GrantID, at)
		}
		if err != nil {
			return err
		}
		return insertTokens(ctx, tx, issue)
	})
	if err == nil && reused {
		return store.ErrReused
	}
	return err
}

func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	n, keep := ts(now), ts(now.Add(-time.Hour))
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM pendings WHERE expires_at < $1`, n},
		{`DELETE FROM codes WHERE expires_at < $1`, keep},
		{`DELETE FROM tokens WHERE expires_at < $1`, n},
		{`UPDATE tokens SET answer = NULL, answer_until = 0 WHERE answer_until != 0 AND answer_until < $1`, n},
		{`DELETE FROM grants g WHERE created_at < $1
			AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.grant_id = g.id)
			AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.grant_id = g.id)`, keep},
	} {
		tag, err := s.pool.Exec(ctx, q.sql, q.arg)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
	}
	return total, nil
}

func (s *Store) GetTokenGrant(ctx context.Context, hash string) (*store.Token, *store.Grant, error) {
	var t store.Token
	var g store.Grant
	var kind string
	var issued, exp, revoked, used, upExp, created, grantRevoked int64
	err := s.pool.QueryRow(ctx, `SELECT t.hash, t.kind, t.grant_id, t.issuance, t.scope, t.issued_at, t.expires_at,
		t.revoked_at, t.used_at, t.successor, g.id, g.client_id, g.subject, g.username, g.scope, g.resource,
		g.redirect_uri, g.upstream, g.upstream_expires_at, g.created_at, g.revoked_at
		FROM tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = $1`, hash).
		Scan(&t.Hash, &kind, &t.GrantID, &t.Issuance, &t.Scope, &issued, &exp, &revoked, &used, &t.Successor,
			&g.ID, &g.ClientID, &g.Subject, &g.Username, &g.Scope, &g.Resource, &g.RedirectURI, &g.Upstream, &upExp, &created, &grantRevoked)
	if err != nil {
		return nil, nil, notFound(err)
	}
	t.Kind = store.TokenKind(kind)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt, t.UsedAt = fromTS(issued), fromTS(exp), fromTS(revoked), fromTS(used)
	g.UpstreamExpiresAt, g.CreatedAt, g.RevokedAt = fromTS(upExp), fromTS(created), fromTS(grantRevoked)
	return &t, &g, nil
}
