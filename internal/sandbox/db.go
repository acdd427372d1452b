package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
)

var errNotFound = errors.New("not found")

// db is the sandbox's own persistent state: users, sessions, clients,
// codes, tokens, tasks and its signing key, in one SQLite file.
type db struct{ sql *sql.DB }

const schema = `
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, name TEXT NOT NULL,
	redirect_uris TEXT NOT NULL, scopes TEXT NOT NULL, owner_id TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS codes (hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
	redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, challenge TEXT NOT NULL, expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
	scope TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, title TEXT NOT NULL,
	description TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_user ON tasks(user_id);
CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, der BLOB NOT NULL, created_at INTEGER NOT NULL);
`

func openDB(ctx context.Context, path string) (*db, error) {
	conn, err := sqlitefile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sandbox database: %w", err)
	}
	// One connection: under a burst of logins SQLite's busy handler is not
	// fair, and a writer could wait past its timeout; the pool's queue is.
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, schema); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sandbox database %s: %w", path, err)
	}
	return &db{sql: conn}, nil
}

type user struct{ ID, Email, Name, PasswordHash string }

type client struct {
	ID, SecretHash, Name, OwnerID string
	RedirectURIs, Scopes          []string
	CreatedAt                     time.Time
}

type code struct {
	ClientID, UserID, RedirectURI, Scope, Challenge string
	ExpiresAt                                       time.Time
}

type token struct {
	Kind, ClientID, UserID, Scope string
	IssuedAt, ExpiresAt           time.Time
	Revoked                       bool
}

// Task is a TaskManager task, as /api/tasks shows it.
type Task struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Done        bool      `json:"done"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (d *db) upsertUser(ctx context.Context, u user) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES (?, ?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, name = excluded.name`,
		u.ID, u.Email, u.Name, u.PasswordHash)
	return err
}

func (d *db) userByEmail(ctx context.Context, email string) (*user, error) {
	return d.scanUser(d.sql.QueryRowContext(ctx, `SELECT id, email, name, password_hash FROM users WHERE email = ?`, strings.ToLower(email)))
}

func (d *db) userByID(ctx context.Context, id string) (*user, error) {
	return d.scanUser(d.sql.QueryRowContext(ctx, `SELECT id, email, name, password_hash FROM users WHERE id = ?`, id))
}

func (d *db) scanUser(row *sql.Row) (*user, error) {
	var u user
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash); err != nil {
		return nil, mapNotFound(err)
	}
	return &u, nil
}

func (d *db) createSession(ctx context.Context, hash, userID string, exp time.Time) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, expires_at) VALUES (?, ?, ?)`, hash, userID, exp.UnixNano())
	return err
}

func (d *db) sessionUser(ctx context.Context, hash string, now time.Time) (*user, error) {
	var userID string
	err := d.sql.QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE hash = ? AND expires_at > ?`, hash, now.UnixNano()).Scan(&userID)
	if err != nil {
		return nil, mapNotFound(err)
	}
	return d.userByID(ctx, userID)
}

func (d *db) deleteSession(ctx context.Context, hash string) error {
	_, err := d.sql.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

func (d *db) upsertClient(ctx context.Context, c client) error {
	redirects, _ := json.Marshal(c.RedirectURIs)
	_, err := d.sql.ExecContext(ctx, `INSERT INTO clients (id, secret_hash, name, redirect_uris, scopes, owner_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash,
		redirect_uris = excluded.redirect_uris, scopes = excluded.scopes, name = excluded.name`,
		c.ID, c.SecretHash, c.Name, string(redirects), strings.Join(c.Scopes, " "), c.OwnerID, c.CreatedAt.UnixNano())
	return err
}

const clientColumns = `id, secret_hash, name, redirect_uris, scopes, owner_id, created_at`

func scanClient(scan func(...any) error) (*client, error) {
	var c client
	var redirects, scopes string
	var created int64
	if err := scan(&c.ID, &c.SecretHash, &c.Name, &redirects, &scopes, &c.OwnerID, &created); err != nil {
		return nil, mapNotFound(err)
	}
	_ = json.Unmarshal([]byte(redirects), &c.RedirectURIs)
	c.Scopes = strings.Fields(scopes)
	c.CreatedAt = time.Unix(0, created)
	return &c, nil
}

func (d *db) clientByID(ctx context.Context, id string) (*client, error) {
	return scanClient(d.sql.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id).Scan)
}

func (d *db) clientsOf(ctx context.Context, ownerID string) ([]*client, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE owner_id = ? ORDER BY created_at, id`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*client
	for rows.Next() {
		c, err := scanClient(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (d *db) saveCode(ctx context.Context, hash string, c code) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO codes (hash, client_id, user_id, redirect_uri, scope, challenge, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Challenge, c.ExpiresAt.UnixNano())
	return err
}

// consumeCode marks the code used and returns it; a used or unknown code
// is errNotFound.
func (d *db) consumeCode(ctx context.Context, hash string) (*code, error) {
	var c code
	var exp int64
	err := d.sql.QueryRowContext(ctx, `UPDATE codes SET used = 1 WHERE hash = ? AND used = 0
		RETURNING client_id, user_id, redirect_uri, scope, challenge, expires_at`, hash).
		Scan(&c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Challenge, &exp)
	if err != nil {
		return nil, mapNotFound(err)
	}
	c.ExpiresAt = time.Unix(0, exp)
	return &c, nil
}

func (d *db) saveToken(ctx context.Context, hash string, t token) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO tokens (hash, kind, client_id, user_id, scope, issued_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, hash, t.Kind, t.ClientID, t.UserID, t.Scope, t.IssuedAt.UnixNano(), t.ExpiresAt.UnixNano())
	return err
}

func (d *db) tokenByHash(ctx context.Context, hash string) (*token, error) {
	var t token
	var issued, exp int64
	err := d.sql.QueryRowContext(ctx, `SELECT kind, client_id, user_id, scope, issued_at, expires_at, revoked FROM tokens WHERE hash = ?`, hash).
		Scan(&t.Kind, &t.ClientID, &t.UserID, &t.Scope, &issued, &exp, &t.Revoked)
	if err != nil {
		return nil, mapNotFound(err)
	}
	t.IssuedAt, t.ExpiresAt = time.Unix(0, issued), time.Unix(0, exp)
	return &t, nil
}

// revokeToken revokes a live token and reports whether it was live, so a
// refresh token is rotated exactly once.
func (d *db) revokeToken(ctx context.Context, hash string) (bool, error) {
	res, err := d.sql.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE hash = ? AND revoked = 0`, hash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (d *db) listTasks(ctx context.Context, userID string) ([]Task, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, title, description, done, created_at, updated_at FROM tasks WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

func scanTask(scan func(...any) error) (*Task, error) {
	var t Task
	var created, updated int64
	if err := scan(&t.ID, &t.Title, &t.Description, &t.Done, &created, &updated); err != nil {
		return nil, mapNotFound(err)
	}
	t.CreatedAt, t.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return &t, nil
}

func (d *db) getTask(ctx context.Context, userID string, id int64) (*Task, error) {
	return scanTask(d.sql.QueryRowContext(ctx, `SELECT id, title, description, done, created_at, updated_at
		FROM tasks WHERE user_id = ? AND id = ?`, userID, id).Scan)
}

func (d *db) createTask(ctx context.Context, userID string, t Task, now time.Time) (*Task, error) {
	return scanTask(d.sql.QueryRowContext(ctx, `INSERT INTO tasks (user_id, title, description, done, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id, title, description, done, created_at, updated_at`,
		userID, t.Title, t.Description, t.Done, now.UnixNano(), now.UnixNano()).Scan)
}

func (d *db) updateTask(ctx context.Context, userID string, t Task, now time.Time) (*Task, error) {
	return scanTask(d.sql.QueryRowContext(ctx, `UPDATE tasks SET title = ?, description = ?, done = ?, updated_at = ?
		WHERE user_id = ? AND id = ? RETURNING id, title, description, done, created_at, updated_at`,
		t.Title, t.Description, t.Done, now.UnixNano(), userID, t.ID).Scan)
}

func (d *db) deleteTask(ctx context.Context, userID string, id int64) error {
	res, err := d.sql.ExecContext(ctx, `DELETE FROM tasks WHERE user_id = ? AND id = ?`, userID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNotFound
	}
	return nil
}

// signingKey returns the sandbox's ES256 key, creating it on first start
// so that its JWKS stays stable across restarts.
func (d *db) signingKey(ctx context.Context) (string, *ecdsa.PrivateKey, error) {
	var kid string
	var der []byte
	err := d.sql.QueryRowContext(ctx, `SELECT kid, der FROM keys ORDER BY created_at DESC LIMIT 1`).Scan(&kid, &der)
	if errors.Is(err, sql.ErrNoRows) {
		key, gerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if gerr != nil {
			return "", nil, gerr
		}
		der, gerr = x509.MarshalECPrivateKey(key)
		if gerr != nil {
			return "", nil, gerr
		}
		kid = secrets.Random(12)
		if _, err := d.sql.ExecContext(ctx, `INSERT INTO keys (kid, der, created_at) VALUES (?, ?, ?)`, kid, der, time.Now().UnixNano()); err != nil {
			return "", nil, err
		}
		return kid, key, nil
	}
	if err != nil {
		return "", nil, err
	}
	key, err := x509.ParseECPrivateKey(der)
	return kid, key, err
}

func (d *db) sweep(ctx context.Context, now time.Time) {
	n := now.UnixNano()
	for _, q := range []string{
		`DELETE FROM sessions WHERE expires_at < ?`,
		`DELETE FROM codes WHERE expires_at < ?`,
		`DELETE FROM tokens WHERE expires_at < ?`,
	} {
		_, _ = d.sql.ExecContext(ctx, q, n)
	}
}

func mapNotFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	return err
}
