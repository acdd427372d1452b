// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document, preferred by MCP
// 2026-07-28 over dynamic registration): a client_id that is an HTTPS URL
// whose document describes the client. Fetching a URL an attacker names is
// a server-side request, so the fetcher refuses private, loopback and
// link-local addresses (checked on the connected socket, so DNS rebinding
// cannot slip past), bounds size and time, never follows a redirect to
// another host, and caches per the response's Cache-Control.
package cimd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/ttlcache"
)

// Document is the client metadata tmcp reads (RFC 7591 names).
type Document struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
}

// Limits of a fetch.
const (
	MaxSize      = 64 << 10
	fetchTimeout = 5 * time.Second
	defaultTTL   = 5 * time.Minute
	maxTTL       = 24 * time.Hour
	minTTL       = 30 * time.Second
)

// ErrInvalid wraps every reason a document or its URL is refused.
var ErrInvalid = errors.New("client metadata document refused")

// Options tune a Resolver.
type Options struct {
	// AllowPrivate lets documents live on loopback and private addresses
	// (development only).
	AllowPrivate bool
	// RootCAs replaces the system roots (tests).
	RootCAs *x509.CertPool
	Now     func() time.Time
}

// Resolver fetches and caches documents.
type Resolver struct {
	opts  Options
	http  *http.Client
	cache *ttlcache.Cache[*Document]
}

// maxCached bounds how many documents are kept.
const maxCached = 10000

// IsURL reports whether a client_id is meant as a metadata document URL.
func IsURL(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// New builds a Resolver.
func New(opts Options) *Resolver {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: fetchTimeout, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || (!opts.AllowPrivate && !publicIP(ip)) {
			return fmt.Errorf("%w: %s is not a public address", ErrInvalid, host)
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSClientConfig: &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: fetchTimeout, ResponseHeaderTimeout: fetchTimeout, MaxIdleConns: 10, Proxy: nil}
	r := &Resolver{opts: opts, cache: ttlcache.New[*Document](maxCached)}
	r.http = &http.Client{Transport: tr, Timeout: fetchTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 || req.URL.Host != via[0].URL.Host || req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirected to %s", ErrInvalid, req.URL.Host)
		}
		return nil
	}}
	return r
}

// publicIP refuses loopback, private (RFC 1918, ULA), link-local,
// unspecified, multicast and shared (100.64/10) addresses.
func publicIP(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap()
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return false
	}
	for _, p := range specialPurpose {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// specialPurpose are the IANA IPv4 and IPv6 Special-Purpose Address
// Registries' blocks that are not globally reachable, and the translation
// prefixes that would reach an IPv4 address through IPv6 (NAT64, 6to4,
// Teredo): none may hold a client's metadata document.
var specialPurpose = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"255.255.255.255/32",
		"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
		"2001::/32", "2001:2::/48", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
		"ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ValidateURL applies the document URL rules: https, a host, a path, no
// fragment, no user information, no dot segments.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%w: the client_id must be an https URL", ErrInvalid)
	case u.Path == "" || u.Path == "/":
		return fmt.Errorf("%w: the client_id URL must have a path", ErrInvalid)
	case u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil:
		return fmt.Errorf("%w: the client_id URL must not have a fragment or user information", ErrInvalid)
	case strings.Contains("/"+u.Path+"/", "/./") || strings.Contains("/"+u.Path+"/", "/../"):
		return fmt.Errorf("%w: the client_id URL must not have dot segments", ErrInvalid)
	}
	return nil
}

// Resolve returns the document at clientID, from the cache when fresh.
func (r *Resolver) Resolve(ctx context.Context, clientID string) (*Document, error) {
	if err := ValidateURL(clientID); err != nil {
		return nil, err
	}
	now := r.opts.Now()
	if doc, ok := r.cache.Get(clientID, now); ok {
		return doc, nil
	}
	doc, ttl, err := r.fetch(ctx, clientID)
	if err != nil {
		return nil, err
	}
	r.cache.Put(clientID, doc, now.Add(ttl), now)
	return doc, nil
}

func (r *Resolver) fetch(ctx context.Context, clientID string) (*Document, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: fetching it failed: %v", ErrInvalid, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%w: it answered HTTP %d", ErrInvalid, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, 0, fmt.Errorf("%w: it is %q, not JSON", ErrInvalid, mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: reading it failed", ErrInvalid)
	}
	if len(body) > MaxSize {
		return nil, 0, fmt.Errorf("%w: it is larger than %d bytes", ErrInvalid, MaxSize)
	}
	doc, err := Parse(body, clientID)
	if err != nil {
		return nil, 0, err
	}
	return doc, cacheTTL(resp.Header), nil
}

// Parse checks a document fetched from clientID.
func Parse(body []byte, clientID string) (*Document, error) {
	var d Document
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: it is not a JSON object", ErrInvalid)
	}
	switch {
	case d.ClientID != clientID:
		return nil, fmt.Errorf("%w: its client_id %q is not its URL", ErrInvalid, d.ClientID)
	case len(d.RedirectURIs) == 0 || len(d.RedirectURIs) > 10:
		return nil, fmt.Errorf("%w: it must list 1 to 10 redirect_uris", ErrInvalid)
	case d.TokenEndpointAuthMethod != "" && d.TokenEndpointAuthMethod != oauth.AuthMethodNone:
		return nil, fmt.Errorf("%w: token_endpoint_auth_method %q is not supported (use none)", ErrInvalid, d.TokenEndpointAuthMethod)
	case len(d.ClientName) > 200:
		return nil, fmt.Errorf("%w: client_name is too long", ErrInvalid)
	}
	for _, u := range d.RedirectURIs {
		if err := oauth.ValidateRedirectURI(u); err != nil {
			return nil, fmt.Errorf("%w: redirect URI %s %v", ErrInvalid, u, err)
		}
	}
	for _, g := range d.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return nil, fmt.Errorf("%w: grant type %q is not supported", ErrInvalid, g)
		}
	}
	if len(d.GrantTypes) == 0 {
		d.GrantTypes = []string{"authorization_code"}
	}
	return &d, nil
}

// cacheTTL reads Cache-Control: no-store/no-cache mean no caching;
// max-age is honoured within [30 s, 24 h]; absent, five minutes.
func cacheTTL(h http.Header) time.Duration {
	cc := strings.ToLower(h.Get("Cache-Control"))
	if strings.Contains(cc, "no-store") || strings.Contains(cc, "no-cache") {
		return 0
	}
	for _, part := range strings.Split(cc, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "max-age="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return defaultTTL
			}
			if n == 0 {
				return 0
			}
			return min(max(time.Duration(n)*time.Second, minTTL), maxTTL)
		}
	}
	return defaultTTL
}
