package postgres

import (
	"context"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

var (
	getUpstreamClient   = sqlrow.Numbered(sqlrow.GetUpstreamClient)
	claimUpstreamClient = sqlrow.Numbered(sqlrow.ClaimUpstreamClient)
	saveUpstreamClient  = sqlrow.Numbered(sqlrow.SaveUpstreamClient)
)

func (s *Store) GetUpstreamClient(ctx context.Context) ([]byte, error) {
	var sealed []byte
	return sealed, notFound(s.pool.QueryRow(ctx, getUpstreamClient).Scan(&sealed))
}

func (s *Store) ClaimUpstreamRegistration(ctx context.Context, holder string, now, until time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, claimUpstreamClient, holder, ts(until), ts(now))
	return err == nil && tag.RowsAffected() == 1, err
}

func (s *Store) SaveUpstreamClient(ctx context.Context, holder string, sealed []byte) error {
	tag, err := s.pool.Exec(ctx, saveUpstreamClient, sealed, holder)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotYours
	}
	return nil
}
