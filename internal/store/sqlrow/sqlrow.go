// Package sqlrow is how store values live in SQL tables: the schema, the
// column lists, how a row becomes a store value and a value becomes
// statement arguments, and how times are kept. sqlstore writes the
// statements.
package sqlrow

import (
	"strconv"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
)

// Scanner is one row: *sql.Row and *sql.Rows both fit.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows is a result set.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every row with scan; the caller closes rows.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Nanos keeps a time as Unix nanoseconds; 0 means "not set".
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Time reads what Nanos wrote.
func Time(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// The column lists, in the order of the scanners and value lists below.
const (
	ClientColumns  = `id, secret_hash, name, redirect_uris, grant_types, response_types, auth_method, scope, metadata, created_at, registration_token_hash`
	PendingColumns = `state_hash, browser_hash, client_id, redirect_uri, scope, resource, code_challenge, client_state, upstream_verifier, expires_at, nonce_hash`
	GrantColumns   = `id, client_id, subject, username, scope, resource, redirect_uri, upstream, upstream_expires_at, created_at, revoked_at, email`
	CodeColumns    = `hash, grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at`
	TokenColumns   = `hash, kind, grant_id, issuance, scope, issued_at, expires_at, revoked_at, used_at, successor, answer, answer_until, jkt`
	KeyColumns     = `kid, alg, private, public, created_at, retired_at`
)

// ListColumn gives the scan destination for a list column: PostgreSQL
// scans TEXT[] straight into the slice, SQLite through a JSON column type.
type ListColumn func(*[]string) any

// Client scans ClientColumns.
func Client(row Scanner, list ListColumn) (*store.Client, error) {
	var c store.Client
	var created int64
	if err := row.Scan(&c.ID, &c.SecretHash, &c.Name, list(&c.RedirectURIs), list(&c.GrantTypes), list(&c.ResponseTypes),
		&c.TokenEndpointAuthMethod, &c.Scope, &c.Metadata, &created, &c.RegistrationTokenHash); err != nil {
		return nil, err
	}
	c.CreatedAt = Time(created)
	return &c, nil
}

// ClientValues are c's ClientColumns; lists go through list.
func ClientValues(c *store.Client, list func([]string) any) []any {
	return []any{c.ID, c.SecretHash, c.Name, list(c.RedirectURIs), list(c.GrantTypes), list(c.ResponseTypes),
		c.TokenEndpointAuthMethod, c.Scope, c.Metadata, Nanos(c.CreatedAt), c.RegistrationTokenHash}
}

// Pending scans PendingColumns.
func Pending(row Scanner) (*store.Pending, error) {
	var p store.Pending
	var exp int64
	if err := row.Scan(&p.StateHash, &p.BrowserHash, &p.ClientID, &p.RedirectURI, &p.Scope, &p.Resource,
		&p.CodeChallenge, &p.ClientState, &p.UpstreamVerifier, &exp, &p.NonceHash); err != nil {
		return nil, err
	}
	p.ExpiresAt = Time(exp)
	return &p, nil
}

// PendingValues are p's PendingColumns.
func PendingValues(p *store.Pending) []any {
	return []any{p.StateHash, p.BrowserHash, p.ClientID, p.RedirectURI, p.Scope, p.Resource,
		p.CodeChallenge, p.ClientState, p.UpstreamVerifier, Nanos(p.ExpiresAt), p.NonceHash}
}

// Grant scans GrantColumns.
func Grant(row Scanner) (*store.Grant, error) {
	var g grantRow
	if err := row.Scan(g.dest()...); err != nil {
		return nil, err
	}
	return g.value(), nil
}

type grantRow struct {
	g                       store.Grant
	upExp, created, revoked int64
}

func (r *grantRow) dest() []any {
	g := &r.g
	return []any{&g.ID, &g.ClientID, &g.Subject, &g.Username, &g.Scope, &g.Resource, &g.RedirectURI,
		&g.Upstream, &r.upExp, &r.created, &r.revoked, &g.Email}
}

func (r *grantRow) value() *store.Grant {
	r.g.UpstreamExpiresAt, r.g.CreatedAt, r.g.RevokedAt = Time(r.upExp), Time(r.created), Time(r.revoked)
	return &r.g
}

// GrantValues are g's GrantColumns.
func GrantValues(g *store.Grant) []any {
	return []any{g.ID, g.ClientID, g.Subject, g.Username, g.Scope, g.Resource, g.RedirectURI,
		g.Upstream, Nanos(g.UpstreamExpiresAt), Nanos(g.CreatedAt), Nanos(g.RevokedAt), g.Email}
}

// Code scans CodeColumns.
func Code(row Scanner) (*store.Code, error) {
	var c store.Code
	var exp, used int64
	if err := row.Scan(&c.Hash, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &exp, &used); err != nil {
		return nil, err
	}
	c.ExpiresAt, c.UsedAt = Time(exp), Time(used)
	return &c, nil
}

// CodeValues are c's CodeColumns.
func CodeValues(c *store.Code) []any {
	return []any{c.Hash, c.GrantID, c.ClientID, c.RedirectURI, c.CodeChallenge, Nanos(c.ExpiresAt), Nanos(c.UsedAt)}
}

// Token scans TokenColumns.
func Token(row Scanner) (*store.Token, error) {
	var t tokenRow
	if err := row.Scan(t.dest()...); err != nil {
		return nil, err
	}
	return t.value(), nil
}

type tokenRow struct {
	t                                 store.Token
	kind                              string
	issued, exp, revoked, used, until int64
}

func (r *tokenRow) dest() []any {
	t := &r.t
	return []any{&t.Hash, &r.kind, &t.GrantID, &t.Issuance, &t.Scope, &r.issued, &r.exp, &r.revoked, &r.used,
		&t.Successor, &t.Answer.Sealed, &r.until, &t.JKT}
}

func (r *tokenRow) value() *store.Token {
	t := &r.t
	t.Kind = store.TokenKind(r.kind)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt, t.UsedAt = Time(r.issued), Time(r.exp), Time(r.revoked), Time(r.used)
	t.Answer.Until = Time(r.until)
	return t
}

// TokenValues are t's TokenColumns.
func TokenValues(t *store.Token) []any {
	return []any{t.Hash, string(t.Kind), t.GrantID, t.Issuance, t.Scope, Nanos(t.IssuedAt), Nanos(t.ExpiresAt),
		Nanos(t.RevokedAt), Nanos(t.UsedAt), t.Successor, t.Answer.Sealed, Nanos(t.Answer.Until), t.JKT}
}

// What introspection reads of a token and of its grant: neither what
// is sealed (the grant's TaskManager token, a refresh token's answer) nor
// what only rotation and sign-in read. A third of the columns less is a
// quarter less time and two thirds less memory a lookup on SQLite.
const (
	tokenAccessColumns = `hash, kind, grant_id, scope, issued_at, expires_at, revoked_at, jkt`
	grantAccessColumns = `id, client_id, subject, username, scope, resource, created_at, revoked_at, email`
)

// TokenGrantQuery reads a token with what its grant says of it; where
// is the backend's "t.hash = <placeholder>".
func TokenGrantQuery(where string) string {
	return `SELECT ` + prefixed("t.", tokenAccessColumns) + `, ` + prefixed("g.", grantAccessColumns) +
		` FROM tokens t JOIN grants g ON g.id = t.grant_id WHERE ` + where
}

// TokenGrant scans a TokenGrantQuery row: the token and grant less the
// columns it does not read, which stay zero.
func TokenGrant(row Scanner) (*store.Token, *store.Grant, error) {
	var t store.Token
	var g store.Grant
	var kind string
	var issued, exp, revoked, created, grantRevoked int64
	if err := row.Scan(&t.Hash, &kind, &t.GrantID, &t.Scope, &issued, &exp, &revoked, &t.JKT,
		&g.ID, &g.ClientID, &g.Subject, &g.Username, &g.Scope, &g.Resource, &created, &grantRevoked, &g.Email); err != nil {
		return nil, nil, err
	}
	t.Kind = store.TokenKind(kind)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt = Time(issued), Time(exp), Time(revoked)
	g.CreatedAt, g.RevokedAt = Time(created), Time(grantRevoked)
	return &t, &g, nil
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// Key scans KeyColumns.
func Key(row Scanner) (*store.SigningKey, error) {
	var k store.SigningKey
	var created, retired int64
	if err := row.Scan(&k.KID, &k.Alg, &k.Private, &k.Public, &created, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt = Time(created), Time(retired)
	return &k, nil
}

// KeyValues are k's KeyColumns.
func KeyValues(k *store.SigningKey) []any {
	return []any{k.KID, k.Alg, k.Private, k.Public, Nanos(k.CreatedAt), Nanos(k.RetiredAt)}
}

// Rotatable says whether a refresh token read for rotation may rotate:
// ErrNotFound for another kind, ErrRevoked once it or its grant is.
func Rotatable(old *store.Token, grantRevokedAt int64) error {
	if old.Kind != store.KindRefresh {
		return store.ErrNotFound
	}
	if grantRevokedAt != 0 || !old.RevokedAt.IsZero() {
		return store.ErrRevoked
	}
	return nil
}

// Successor is the issuance a rotation hands on to.
func Successor(issue []*store.Token) string {
	if len(issue) > 0 {
		return issue[0].Issuance
	}
	return ""
}

// Insert is the INSERT of columns into table, with "?" placeholders or,
// when numbered, PostgreSQL's "$1".
func Insert(table, columns string, numbered bool) string {
	n := strings.Count(columns, ",") + 1
	marks := make([]string, n)
	for i := range marks {
		marks[i] = "?"
		if numbered {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
	}
	return `INSERT INTO ` + table + ` (` + columns + `) VALUES (` + strings.Join(marks, ", ") + `)`
}

// UpdateClient is store.UpdateClient's statement; its values come from
// UpdateClientValues.
const UpdateClient = `UPDATE clients SET name = ?, redirect_uris = ?, grant_types = ?, response_types = ?, scope = ?, metadata = ? WHERE id = ?`

// UpdateClientValues are UpdateClient's values for c.
func UpdateClientValues(c *store.Client, list func([]string) any) []any {
	return []any{c.Name, list(c.RedirectURIs), list(c.GrantTypes), list(c.ResponseTypes), c.Scope, c.Metadata, c.ID}
}

// The statements of store.UpstreamClient, in "?" placeholders (PostgreSQL
// rebinds them with Numbered). The claim is one conditional upsert, so of
// instances starting together exactly one gets it.
const (
	GetUpstreamClient   = `SELECT sealed FROM upstream_client WHERE id = 1 AND sealed IS NOT NULL`
	ClaimUpstreamClient = `INSERT INTO upstream_client (id, holder, claimed_until) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, claimed_until = excluded.claimed_until
		WHERE upstream_client.sealed IS NULL AND (upstream_client.claimed_until < ? OR upstream_client.holder = excluded.holder)`
	SaveUpstreamClient = `UPDATE upstream_client SET sealed = ? WHERE id = 1 AND holder = ? AND sealed IS NULL`
)

// Numbered turns "?" placeholders into PostgreSQL's $1, $2….
func Numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
