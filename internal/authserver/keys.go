package authserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// Token formats.
const (
	FormatOpaque = "opaque"
	FormatJWT    = "jwt"
)

// keyReload is how often an instance rereads the keys, so a rotation by
// `tmcp keys rotate` (or another instance) reaches it.
const keyReload = 30 * time.Second

// keyring caches the signing keys from storage.
type keyring struct {
	mu       sync.Mutex
	loadedAt time.Time
	kid      string
	private  *ecdsa.PrivateKey
	keys     []*store.SigningKey
}

func keyAAD(kid string) []byte { return []byte("tmcp signing key " + kid) }

// NewSigningKey makes an ES256 key, sealed with sealer.
func NewSigningKey(sealer *secrets.Sealer, now time.Time) (*store.SigningKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	kid := secrets.Random(12)
	pub, err := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return nil, err
	}
	return &store.SigningKey{KID: kid, Alg: string(jose.ES256), Private: sealer.Seal(der, keyAAD(kid)), Public: pub, CreatedAt: now}, nil
}

// RotateKeys retires every signing key and adds a new one. Retired public
// keys stay published until the tokens they signed have expired.
func RotateKeys(ctx context.Context, st store.Keys, encryptionKey []byte, now time.Time) (*store.SigningKey, error) {
	sealer, err := secrets.NewSealer(encryptionKey)
	if err != nil {
		return nil, err
	}
	k, err := NewSigningKey(sealer, now)
	if err != nil {
		return nil, err
	}
	if err := st.RetireKeys(ctx, now); err != nil {
		return nil, err
	}
	return k, st.SaveKey(ctx, k)
}

// signer returns the active key, rereading storage when the cache is old
// and making a key when there is none.
func (s *Server) signer(ctx context.Context) (string, *ecdsa.PrivateKey, error) {
	kr := &s.keys
	kr.mu.Lock()
	defer kr.mu.Unlock()
	now := s.now()
	if kr.private != nil && now.Sub(kr.loadedAt) < keyReload {
		return kr.kid, kr.private, nil
	}
	keys, err := s.store.ListKeys(ctx)
	if err != nil {
		return "", nil, err
	}
	var active *store.SigningKey
	for _, k := range keys {
		if k.RetiredAt.IsZero() {
			active = k
			break
		}
	}
	if active == nil {
		if active, err = NewSigningKey(s.sealer, now); err != nil {
			return "", nil, err
		}
		if err := s.store.SaveKey(ctx, active); err != nil {
			return "", nil, err
		}
		keys = append([]*store.SigningKey{active}, keys...)
		s.log.InfoContext(ctx, "signing key created", "kid", active.KID)
	}
	der, err := s.sealer.Open(active.Private, keyAAD(active.KID))
	if err != nil {
		return "", nil, fmt.Errorf("open signing key %s: %w", active.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return "", nil, err
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return "", nil, fmt.Errorf("signing key %s is not an ECDSA key", active.KID)
	}
	kr.kid, kr.private, kr.keys, kr.loadedAt = active.KID, priv, keys, now
	return kr.kid, kr.private, nil
}

// accessClaims are RFC 9068 §2.2's, plus the username and the address
// the provider verified (OpenID Connect Core §5.1's email).
type accessClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Username string `json:"username,omitempty"`
	Email    string `json:"email,omitempty"`
	// Cnf binds a DPoP-bound token to its key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// signJWT signs claims with the active key, with typ in the header.
func (s *Server) signJWT(ctx context.Context, typ string, claims any) (string, error) {
	kid, key, err := s.signer(ctx)
	if err != nil {
		return "", err
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// mintJWT signs an access token (RFC 9068: typ at+jwt, aud = resource).
func (s *Server) mintJWT(ctx context.Context, g *store.Grant, scope, jkt string, now, exp time.Time) (string, error) {
	return s.signJWT(ctx, "at+jwt", accessClaims{
		Claims: jwt.Claims{Issuer: s.cfg.Issuer, Subject: g.Subject, Audience: jwt.Audience{g.Resource},
			Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ID: secrets.Random(16)},
		ClientID: g.ClientID, Scope: scope, Username: g.Username, Email: g.Email, Cnf: cnf(jkt),
	})
}

// jwks publishes the public keys: the active one and retired ones whose
// tokens may still be alive.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.signer(r.Context()); err != nil {
		s.log.ErrorContext(r.Context(), "load signing keys", "err", err)
		s.writeError(w, r, oauth.ServerError("could not load the signing keys"))
		return
	}
	s.keys.mu.Lock()
	keys := s.keys.keys
	s.keys.mu.Unlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	now := s.now()
	for _, k := range keys {
		if !k.RetiredAt.IsZero() && now.After(k.RetiredAt.Add(s.cfg.AccessTTL+time.Minute)) {
			continue
		}
		var jwk jose.JSONWebKey
		if json.Unmarshal(k.Public, &jwk) == nil {
			set.Keys = append(set.Keys, jwk)
		}
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	oauth.WriteJSONBody(w, http.StatusOK, set)
}

// CheckEncryptionKey refuses to start with a key that cannot open the
// TaskManager tokens already stored: every refresh would fail otherwise.
func CheckEncryptionKey(ctx context.Context, st store.Store, key []byte) error {
	g, err := st.NewestGrant(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the store to check the encryption key: %w", err)
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		return err
	}
	if _, err := sealer.Open(g.Upstream, []byte(g.ID)); err != nil {
		return errors.New("the encryption key cannot open the TaskManager tokens already stored: set the key they were sealed with (TMCP_ENCRYPTION_KEY, or the state directory's encryption.key)")
	}
	return nil
}
