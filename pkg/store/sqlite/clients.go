package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

// Lists are kept as JSON text.
type jsonList []string

func (l *jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("list column holds %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}

func listColumn(p *[]string) any { return (*jsonList)(p) }

func listValue(v []string) any {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func scanClient(row sqlrow.Scanner) (*store.Client, error) {
	c, err := sqlrow.Client(row, listColumn)
	return c, notFound(err)
}

func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := s.db.ExecContext(ctx, sqlrow.Insert("clients", sqlrow.ClientColumns, false), sqlrow.ClientValues(c, listValue)...)
	return conflict(err)
}

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(s.db.QueryRowContext(ctx, `SELECT `+sqlrow.ClientColumns+` FROM clients WHERE id = ?`, id))
}

func (s *Store) UpdateClient(ctx context.Context, c *store.Client) error {
	res, err := s.db.ExecContext(ctx, sqlrow.UpdateClient, sqlrow.UpdateClientValues(c, listValue)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlrow.ClientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, scanClient)
}

func (s *Store) DeleteClient(ctx context.Context, id string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if _, err := revokeGrantsWhere(ctx, tx, `client_id = ?`, id, at); err != nil {
		return err
	}
	return tx.Commit()
}
