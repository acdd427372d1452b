package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

const tokenColumns = `hash, kind, grant_id, issuance, scope, issued_at, expires_at, revoked_at, used_at, successor, answer, answer_until`

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) SaveTokens(ctx context.Context, tokens ...*store.Token) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertTokens(ctx, tx, tokens); err != nil {
		return err
	}
	return tx.Commit()
}

func insertTokens(ctx context.Context, q querier, tokens []*store.Token) error {
	for _, t := range tokens {
		_, err := q.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, string(t.Kind), t.GrantID, t.Issuance, t.Scope, ts(t.IssuedAt), ts(t.ExpiresAt),
			ts(t.RevokedAt), ts(t.UsedAt), t.Successor, t.Answer.Sealed, ts(t.Answer.Until))
		if err != nil {
			return err
		}
	}
	return nil
}

func getToken(ctx context.Context, q querier, hash string) (*store.Token, error) {
	var t store.Token
	var kind string
	var issued, exp, revoked, used, until int64
	err := q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &kind, &t.GrantID, &t.Issuance, &t.Scope, &issued, &exp, &revoked, &used, &t.Successor, &t.Answer.Sealed, &until)
	if err != nil {
		return nil, notFound(err)
	}
	t.Kind = store.TokenKind(kind)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt, t.UsedAt = fromTS(issued), fromTS(exp), fromTS(revoked), fromTS(used)
	t.Answer.Until = fromTS(until)
	return &t, nil
}

func (s *Store) GetToken(ctx context.Context, hash string) (*store.Token, error) {
	return getToken(ctx, s.db, hash)
}

func (s *Store) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0`, ts(at), hash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetToken(ctx, hash); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide store.RotationPolicy, issue []*store.Token, answer store.Answer) error {
	tx, err := s.db.BeginTx(ctx, nil) // IMMEDIATE: the write lock is held from here
	if err != nil {
		return err
	}
	defer tx.Rollback()
	old, err := getToken(ctx, tx, oldHash)
	if err != nil {
		return err
	}
	if old.Kind != store.KindRefresh {
		return store.ErrNotFound
	}
	var grantRevoked int64
	if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM grants WHERE id = ?`, old.GrantID).Scan(&grantRevoked); err != nil {
		return notFound(err)
	}
	if grantRevoked != 0 || !old.RevokedAt.IsZero() {
		return store.ErrRevoked
	}
	successor := ""
	if len(issue) > 0 {
		successor = issue[0].Issuance
	}
	switch decide(old) {
	case store.RotateFirst:
		if _, err = tx.ExecContext(ctx, `UPDATE tokens SET used_at = ?, successor = ?, answer = ?, answer_until = ? WHERE hash = ?`,
			ts(at), successor, answer.Sealed, ts(answer.Until), oldHash); err != nil {
			return err
		}
		// The client holds this token, so it got its predecessor's answer.
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET answer = NULL, answer_until = 0 WHERE successor = ? AND answer_until != 0`, old.Issuance)
	case store.RotateRetry:
		return nil
	default:
		if err := revokeGrantTx(ctx, tx, old.GrantID, at); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return store.ErrReused
	}
	if err != nil {
		return err
	}
	if err := insertTokens(ctx, tx, issue); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	n := ts(now)
	// Used codes are kept an hour past expiry so that a late replay is
	// still recognised and revokes its family.
	keep := ts(now.Add(-time.Hour))
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM pendings WHERE expires_at < ?`, []any{n}},
		{`DELETE FROM codes WHERE expires_at < ?`, []any{keep}},
		{`DELETE FROM tokens WHERE expires_at < ?`, []any{n}},
		{`UPDATE tokens SET answer = NULL, answer_until = 0 WHERE answer_until != 0 AND answer_until < ?`, []any{n}},
		{`DELETE FROM grants WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.grant_id = grants.id)
			AND NOT EXISTS (SELECT 1 FROM codes WHERE codes.grant_id = grants.id)`, []any{keep}},
	} {
		res, err := s.db.ExecContext(ctx, q.sql, q.args...)
		if err != nil {
			return total, err
		}
		c, _ := res.RowsAffected()
		total += c
	}
	if total > 0 {
		if err := s.shrink(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

const tokenGrantQuery = `SELECT t.hash, t.kind, t.grant_id, t.issuance, t.scope, t.issued_at, t.expires_at,
	t.revoked_at, t.used_at, t.successor, g.id, g.client_id, g.subject, g.username, g.scope, g.resource,
	g.redirect_uri, g.upstream, g.upstream_expires_at, g.created_at, g.revoked_at
	FROM tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = ?`

func (s *Store) GetTokenGrant(ctx context.Context, hash string) (*store.Token, *store.Grant, error) {
	var t store.Token
	var g store.Grant
	var kind string
	var issued, exp, revoked, used, upExp, created, grantRevoked int64
	err := s.tokenGrant.QueryRowContext(ctx, hash).
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
