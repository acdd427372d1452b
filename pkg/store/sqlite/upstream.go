package sqlite

import (
	"context"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

func (s *Store) GetUpstreamClient(ctx context.Context) ([]byte, error) {
	var sealed []byte
	return sealed, notFound(s.db.QueryRowContext(ctx, sqlrow.GetUpstreamClient).Scan(&sealed))
}

func (s *Store) ClaimUpstreamRegistration(ctx context.Context, holder string, now, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, sqlrow.ClaimUpstreamClient, holder, ts(until), ts(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) SaveUpstreamClient(ctx context.Context, holder string, sealed []byte) error {
	res, err := s.db.ExecContext(ctx, sqlrow.SaveUpstreamClient, sealed, holder)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotYours
	}
	return nil
}
