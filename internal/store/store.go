// Package store defines what the authorization server keeps and the
// narrow interfaces through which it keeps it. sqlstore implements them
// once in SQL, for sqlite and postgres; both pass the contract suite in
// storetest.
//
// The store is deliberately dumb about policy: it stores, finds and
// atomically consumes; expiry, binding and audience rules are decided by
// the protocol code with its own clock.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every implementation returns.
var (
	ErrNotFound    = errors.New("store: not found")
	ErrAlreadyUsed = errors.New("store: already used")
	ErrConflict    = errors.New("store: already exists")
	// ErrReused reports a rotated refresh token presented again outside the
	// grace rule; the store has revoked its whole family.
	ErrReused = errors.New("store: refresh token reused; family revoked")
	// ErrNotYours reports a record bound to someone else; it is kept.
	ErrNotYours = errors.New("store: bound to another holder")
	// ErrRevoked reports a token or grant that was revoked.
	ErrRevoked = errors.New("store: revoked")
)

// Client is an MCP client registered with tmcp (RFC 7591).
type Client struct {
	ID                      string
	SecretHash              string // empty for public clients
	Name                    string
	RedirectURIs            []string
	GrantTypes              []string
	ResponseTypes           []string
	TokenEndpointAuthMethod string
	Scope                   string
	// Metadata is the registration response as sent, kept so that a read
	// of the client echoes what was registered (RFC 7591 §3.2.1).
	Metadata  []byte
	CreatedAt time.Time
	// RegistrationTokenHash is the hash of the registration access token
	// that reads, updates and deletes the client (RFC 7592); empty for
	// clients that did not register dynamically.
	RegistrationTokenHash string
}

// Pending is an authorization request that tmcp has sent to TaskManager
// and whose callback it awaits. It is keyed by the hash of the upstream
// state and bound to the browser that started it.
type Pending struct {
	StateHash     string
	BrowserHash   string
	ClientID      string
	RedirectURI   string
	Scope         string
	Resource      string
	CodeChallenge string
	ClientState   string
	// UpstreamVerifier is tmcp's own PKCE verifier towards TaskManager.
	UpstreamVerifier string
	ExpiresAt        time.Time
	// NonceHash is the hash of the OpenID nonce sent with the request,
	// which the provider's ID token must carry back (OpenID Connect Core
	// §3.1.2.1).
	NonceHash string
}

// Grant is one user's authorization of one client for one resource: the
// family that every code and token issued from a single consent belongs
// to, and the holder of TaskManager's tokens for it.
type Grant struct {
	ID          string
	ClientID    string
	Subject     string
	Username    string
	Scope       string
	Resource    string
	RedirectURI string
	// Email is the address the provider verified, "" when it did not:
	// the only address passed on as the user's (Username is for show).
	Email string
	// Upstream is TaskManager's token set, sealed (AES-256-GCM).
	Upstream          []byte
	UpstreamExpiresAt time.Time
	CreatedAt         time.Time
	RevokedAt         time.Time // zero while active
}

// Code is an authorization code issued to an MCP client.
type Code struct {
	Hash          string
	GrantID       string
	ClientID      string
	RedirectURI   string
	CodeChallenge string
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until consumed
}

// TokenKind tells access and refresh tokens apart.
type TokenKind string

const (
	KindAccess  TokenKind = "access"
	KindRefresh TokenKind = "refresh"
)

// Token is an issued access or refresh token; only its hash is kept.
type Token struct {
	Hash    string
	Kind    TokenKind
	GrantID string
	// Issuance groups the access and refresh token handed out in one
	// token response, so a rotation can undo exactly one response.
	Issuance  string
	Scope     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
	// Refresh tokens only: when it was rotated, into which issuance, and
	// that rotation's answer while a retry may still get it.
	UsedAt    time.Time
	Successor string
	Answer    Answer
	// JKT is the RFC 7638 thumbprint of the key the token is bound to
	// (RFC 9449 §6), "" for a bearer token.
	JKT string
}

// Answer is the token response a rotation gave, sealed, kept on the
// rotated token until Until so that a client that lost it can ask again
// and get the same tokens.
type Answer struct {
	Sealed []byte
	Until  time.Time
}

// Rotation is what a refresh rotation does with the token presented. The
// auth server's policy decides it; the store carries it out atomically.
type Rotation int

const (
	// RotateFirst marks the token used, naming issue as its successor
	// and keeping the answer; the token it succeeded loses its answer.
	RotateFirst Rotation = iota + 1
	// RotateRetry changes and saves nothing: the caller answers with the
	// token's kept Answer.
	RotateRetry
	// RevokeFamily revokes the token's whole grant and saves nothing.
	RevokeFamily
)

// RotationPolicy decides a rotation from the refresh token as stored.
type RotationPolicy func(old *Token) Rotation

// Retention is how long a sweep keeps what has been used, beyond expiry.
type Retention struct {
	// UsedRefresh keeps a rotated refresh token this long after its use
	// (at least the refresh grace, whose retries it answers); zero
	// keeps it until it expires.
	UsedRefresh time.Duration
	// ClientIdle deletes a client that holds no grant and neither
	// registered nor signed anyone in for this long; zero keeps clients.
	ClientIdle time.Duration
}

// SigningKey is a key tmcp signs JWT access tokens with. The private key
// is sealed; the public JWK is published until every token signed with
// it has expired.
type SigningKey struct {
	KID       string
	Alg       string
	Private   []byte // sealed PKCS #8
	Public    []byte // JWK JSON
	CreatedAt time.Time
	RetiredAt time.Time // zero while it signs
}

// Keys keeps signing keys.
type Keys interface {
	SaveKey(ctx context.Context, k *SigningKey) error
	// ListKeys returns every key, newest first.
	ListKeys(ctx context.Context) ([]*SigningKey, error)
	// RetireKeys marks every active key retired at at.
	RetireKeys(ctx context.Context, at time.Time) error
}

// Clients keeps registered MCP clients.
type Clients interface {
	CreateClient(ctx context.Context, c *Client) error
	GetClient(ctx context.Context, id string) (*Client, error)
	// UpdateClient replaces a client's metadata (name, redirect URIs,
	// grant and response types, scope, the metadata document); its id,
	// secret and registration token stay.
	UpdateClient(ctx context.Context, c *Client) error
	// ListClients returns every registered client, oldest first.
	ListClients(ctx context.Context) ([]*Client, error)
	// DeleteClient removes a client and revokes every grant it holds.
	DeleteClient(ctx context.Context, id string, at time.Time) error
}

// Pendings keeps authorization requests in flight to TaskManager.
type Pendings interface {
	SavePending(ctx context.Context, p *Pending) error
	// TakePending returns and deletes the pending request in one step, so
	// a state can be used once only, and only by the browser it is bound
	// to: for another browser it returns ErrNotYours and keeps it.
	TakePending(ctx context.Context, stateHash, browserHash string) (*Pending, error)
}

// Grants keeps token families.
type Grants interface {
	CreateGrant(ctx context.Context, g *Grant) error
	GetGrant(ctx context.Context, id string) (*Grant, error)
	// NewestGrant returns the most recent grant holding a sealed upstream
	// token (a start-up check that the encryption key opens them), or
	// ErrNotFound.
	NewestGrant(ctx context.Context) (*Grant, error)
	UpdateUpstream(ctx context.Context, grantID string, sealed []byte, expiresAt time.Time) error
	// RevokeGrant revokes the grant and every code and token in it.
	RevokeGrant(ctx context.Context, grantID string, at time.Time) error
	// RevokeGrantsOf revokes every active grant of a user (subject) or of
	// a client, whichever is non-empty, and returns how many.
	RevokeGrantsOf(ctx context.Context, subject, clientID string, at time.Time) (int, error)
}

// Codes keeps authorization codes.
type Codes interface {
	SaveCode(ctx context.Context, c *Code) error
	// ConsumeCode marks the code used and returns it. A code used before
	// is returned with ErrAlreadyUsed, so the caller can revoke its grant.
	ConsumeCode(ctx context.Context, hash string, at time.Time) (*Code, error)
}

// Tokens keeps access and refresh tokens.
type Tokens interface {
	SaveTokens(ctx context.Context, tokens ...*Token) error
	GetToken(ctx context.Context, hash string) (*Token, error)
	// GetTokenGrant returns a token and its grant in one read (the hot
	// path of introspection), without what is sealed or read only by
	// rotation and sign-in: Token.Answer, UsedAt, Successor and Issuance
	// and Grant.Upstream, UpstreamExpiresAt and RedirectURI stay zero.
	// GetGrant reads the whole grant.
	GetTokenGrant(ctx context.Context, hash string) (*Token, *Grant, error)
	RevokeToken(ctx context.Context, hash string, at time.Time) error
	// RotateRefresh reads the refresh token oldHash under a lock, asks
	// decide what to do with it as it is stored now, and does that (saving
	// issue and answer on RotateFirst) in the same transaction, so that of
	// concurrent rotations each sees the ones before. A token or grant
	// already revoked returns ErrRevoked without asking; RevokeFamily
	// returns ErrReused.
	RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide RotationPolicy, issue []*Token, answer Answer) error
}

// UpstreamClient keeps tmcp's own client at TaskManager when tmcp
// registered it itself: sealed, one per store, so every instance on one
// database uses the same and only one registers it.
type UpstreamClient interface {
	// GetUpstreamClient returns the sealed client, or ErrNotFound.
	GetUpstreamClient(ctx context.Context) ([]byte, error)
	// ClaimUpstreamRegistration gives holder the sole right to register
	// until until. It reports false while a client is stored or another
	// holder's claim runs past now; a holder may claim again (until now
	// gives the right up).
	ClaimUpstreamRegistration(ctx context.Context, holder string, now, until time.Time) (bool, error)
	// SaveUpstreamClient stores the sealed client registered under
	// holder's claim.
	SaveUpstreamClient(ctx context.Context, holder string, sealed []byte) error
}

// Store is everything the authorization server keeps.
type Store interface {
	UpstreamClient
	Clients
	Pendings
	Grants
	Codes
	Tokens
	Keys
	// Sweep deletes what expired before now and can no longer matter,
	// and what keep says has outlived its use.
	Sweep(ctx context.Context, now time.Time, keep Retention) (int64, error)
	Ping(ctx context.Context) error
	// ProbeWrite commits a write of one fixed row, proving that storage
	// takes writes now (not full, not read-only, its write lock free).
	ProbeWrite(ctx context.Context, at time.Time) error
	Close() error
}
