package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// SelfRegistration is how serve auth gets its client at TaskManager when
// none is configured: registered once with an operator's session cookie,
// kept sealed in the store, found there on every later start.
type SelfRegistration struct {
	Store         store.Store
	EncryptionKey []byte
	Upstream      upstream.Config
	// Issuer is the auth server's public URL; the client's redirect URI
	// is its /oauth/callback.
	Issuer string
	Scopes []string
	// Session is the operator's TaskManager session; empty when none was
	// given, which is fine once a client is stored.
	Session upstream.Session
	Logger  *slog.Logger
	// Wait bounds how long an instance waits for another that is
	// registering (default 30 s).
	Wait time.Duration
}

// ErrNoUpstreamClient is a store without a client and no session to
// register one with.
var ErrNoUpstreamClient = errors.New("tmcp's client at TaskManager is not configured: set --client-id and --client-secret " +
	"(or TASKMANAGER_CLIENT_ID and TASKMANAGER_CLIENT_SECRET); `tmcp client register` creates them, or give " +
	"--admin-session-cookie once and serve auth registers itself")

type storedClient struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

// upstreamClientAAD binds the sealed client to its purpose.
var upstreamClientAAD = []byte("tmcp upstream client")

// UpstreamClient returns the client id and secret tmcp registered for
// itself, registering them first if no instance has.
func (r SelfRegistration) UpstreamClient(ctx context.Context) (id, secret string, err error) {
	sealer, err := secrets.NewSealer(r.EncryptionKey)
	if err != nil {
		return "", "", err
	}
	if r.Wait == 0 {
		r.Wait = 30 * time.Second
	}
	if r.Issuer == "" && r.Session.Value != "" {
		return "", "", errors.New("registering tmcp at TaskManager needs the auth server's public URL: set --issuer")
	}
	holder := secrets.Random(12)
	deadline := time.Now().Add(r.Wait)
	for {
		c, err := r.stored(ctx, sealer)
		if err == nil {
			return c.ID, c.Secret, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", "", err
		}
		if r.Session.Value == "" {
			return "", "", ErrNoUpstreamClient
		}
		now := time.Now()
		claimed, err := r.Store.ClaimUpstreamRegistration(ctx, holder, now, now.Add(r.Wait))
		if err != nil {
			return "", "", fmt.Errorf("claim the registration of tmcp's client in the store: %w", err)
		}
		if claimed {
			return r.register(ctx, sealer, holder)
		}
		if now.After(deadline) {
			return "", "", errors.New("another tmcp instance is registering tmcp's client at TaskManager and has not finished; start again")
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r SelfRegistration) stored(ctx context.Context, sealer *secrets.Sealer) (*storedClient, error) {
	sealed, err := r.Store.GetUpstreamClient(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := sealer.Open(sealed, upstreamClientAAD)
	if err != nil {
		return nil, errors.New("the encryption key cannot open tmcp's client stored in the store: set the key it was sealed with (TMCP_ENCRYPTION_KEY, or the state directory's encryption.key)")
	}
	var c storedClient
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		return nil, errors.New("tmcp's client stored in the store is unreadable")
	}
	return &c, nil
}

// register registers at TaskManager under holder's claim and stores the
// client; on failure it gives the claim up so a retry need not wait.
func (r SelfRegistration) register(ctx context.Context, sealer *secrets.Sealer, holder string) (string, string, error) {
	giveUp := func() {
		now := time.Now()
		_, _ = r.Store.ClaimUpstreamRegistration(context.WithoutCancel(ctx), holder, now, now)
	}
	up, err := upstream.New(r.Upstream)
	if err != nil {
		giveUp()
		return "", "", err
	}
	callback := r.Issuer + pathCallback
	c, err := up.RegisterClient(ctx, r.Session, upstream.NewClient{Name: "tmcp (" + r.Issuer + ")", RedirectURIs: []string{callback}, Scopes: r.Scopes})
	if errors.Is(err, upstream.ErrSessionRefused) {
		giveUp()
		return "", "", errors.New("TaskManager refused the admin session cookie (it expired or is wrong): log in to TaskManager in a browser, " +
			"copy the session cookie again and pass it with --admin-session-cookie (or TASKMANAGER_ADMIN_SESSION_COOKIE; - reads it from standard input)")
	}
	if err != nil {
		giveUp()
		return "", "", fmt.Errorf("register tmcp at TaskManager: %w", err)
	}
	if c.ClientSecret == "" {
		giveUp()
		return "", "", errors.New("register tmcp at TaskManager: the answer has no client secret")
	}
	raw, _ := json.Marshal(storedClient{ID: c.ClientID, Secret: c.ClientSecret})
	if err := r.Store.SaveUpstreamClient(ctx, holder, sealer.Seal(raw, upstreamClientAAD)); err != nil {
		return "", "", fmt.Errorf("store tmcp's new client %s (register again after fixing the store): %w", c.ClientID, err)
	}
	r.Logger.Info("registered tmcp's client at TaskManager", "client_id", c.ClientID, "redirect_uri", callback)
	return c.ClientID, c.ClientSecret, nil
}
