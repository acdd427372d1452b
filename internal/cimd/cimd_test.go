package cimd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidateURL_Rules(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://app.example/oauth/client.json": true,
		"https://app.example":                   false, // no path
		"https://app.example/":                  false,
		"http://app.example/client.json":        false,
		"https://app.example/a#frag":            false,
		"https://user:pw@app.example/c.json":    false,
		"https://app.example/a/../b.json":       false,
		"https://app.example/./b.json":          false,
		"javascript:alert(1)":                   false,
	} {
		if err := ValidateURL(u); (err == nil) != ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", u, err, ok)
		}
	}
}

func TestParse_Rules(t *testing.T) {
	const id = "https://app.example/client.json"
	good := `{"client_id":"` + id + `","client_name":"App","redirect_uris":["http://127.0.0.1:3000/cb"]}`
	if d, err := Parse([]byte(good), id); err != nil || d.GrantTypes[0] != "authorization_code" {
		t.Fatalf("good document: %+v %v", d, err)
	}
	for name, body := range map[string]string{
		"OtherClientID":  `{"client_id":"https://evil.example/client.json","redirect_uris":["https://a.example/cb"]}`,
		"NoRedirects":    `{"client_id":"` + id + `"}`,
		"BadRedirect":    `{"client_id":"` + id + `","redirect_uris":["javascript:alert(1)"]}`,
		"SecretMethod":   `{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`,
		"ImplicitGrant":  `{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}`,
		"NotAnObject":    `["x"]`,
		"LongClientName": `{"client_id":"` + id + `","redirect_uris":["https://a.example/cb"],"client_name":"` + strings.Repeat("x", 201) + `"}`,
	} {
		if _, err := Parse([]byte(body), id); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse = %v, want ErrInvalid", name, err)
		}
	}
}

func TestCacheTTL(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": defaultTTL, "max-age=120": 2 * time.Minute, "public, max-age=5": minTTL, "max-age=999999": maxTTL,
		"no-store": 0, "no-cache": 0, "max-age=0": 0, "max-age=x": defaultTTL,
	} {
		h := http.Header{}
		h.Set("Cache-Control", cc)
		if got := cacheTTL(h); got != want {
			t.Errorf("cacheTTL(%q) = %v, want %v", cc, got, want)
		}
	}
}

// docServer serves a document at /client.json over TLS on loopback.
func docServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, id string)) (*httptest.Server, string, *x509.CertPool) {
	t.Helper()
	var id string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler(w, r, id) }))
	t.Cleanup(srv.Close)
	id = srv.URL + "/client.json"
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, id, pool
}

func serveDoc(cacheControl string, fetches *atomic.Int32) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, id string) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"App","redirect_uris":["http://127.0.0.1:3000/cb"]}`, id)
	}
}

func TestResolve_RefusesPrivateAddresses(t *testing.T) {
	var fetches atomic.Int32
	_, id, pool := docServer(t, serveDoc("", &fetches))
	r := New(Options{RootCAs: pool})
	if _, err := r.Resolve(context.Background(), id); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("a loopback document was fetched: %v", err)
	}
	if fetches.Load() != 0 {
		t.Fatal("the request reached the loopback server")
	}
	for _, ip := range []string{"10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1", "fe80::1", "fc00::1", "0.0.0.0",
		// The special-purpose blocks of the IANA registries, and the IPv6
		// prefixes that translate to IPv4 (NAT64, 6to4, Teredo).
		"198.18.0.1", "198.19.255.254", "240.0.0.1", "255.255.255.255", "192.0.0.8", "192.0.2.1", "203.0.113.9",
		"64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:a00:1::1", "2001::1", "2001:db8::1", "::ffff:127.0.0.1", "ff02::1"} {
		if publicIP(net.ParseIP(ip)) {
			t.Errorf("%s counted as public", ip)
		}
	}
	for _, ip := range []string{"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"} {
		if !publicIP(net.ParseIP(ip)) {
			t.Errorf("the public address %s was refused", ip)
		}
	}
}

func TestResolve_CachesPerCacheControl(t *testing.T) {
	var cached, uncached atomic.Int32
	_, idCached, pool := docServer(t, serveDoc("max-age=600", &cached))
	_, idUncached, _ := docServer(t, serveDoc("no-store", &uncached)) // httptest servers share one certificate
	now := time.Now()
	r := New(Options{AllowPrivate: true, RootCAs: pool, Now: func() time.Time { return now }})
	for i := 0; i < 3; i++ {
		if _, err := r.Resolve(context.Background(), idCached); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Resolve(context.Background(), idUncached); err != nil {
			t.Fatal(err)
		}
	}
	if cached.Load() != 1 || uncached.Load() != 3 {
		t.Fatalf("fetches: max-age %d (want 1), no-store %d (want 3)", cached.Load(), uncached.Load())
	}
	now = now.Add(11 * time.Minute)
	_, _ = r.Resolve(context.Background(), idCached)
	if cached.Load() != 2 {
		t.Fatal("an expired cache entry was reused")
	}
}

func TestResolve_RefusesBadAnswers(t *testing.T) {
	cases := map[string]func(http.ResponseWriter, *http.Request, string){
		"NotFound": func(w http.ResponseWriter, r *http.Request, id string) { http.NotFound(w, r) },
		"HTML": func(w http.ResponseWriter, r *http.Request, id string) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html></html>")
		},
		"TooLarge": func(w http.ResponseWriter, r *http.Request, id string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"client_id":%q,"redirect_uris":["https://a.example/cb"],"pad":"%s"}`, id, strings.Repeat("a", MaxSize))
		},
		"RedirectElsewhere": func(w http.ResponseWriter, r *http.Request, id string) {
			http.Redirect(w, r, "https://elsewhere.example/client.json", http.StatusFound)
		},
		"WrongClientID": func(w http.ResponseWriter, r *http.Request, id string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"client_id":"https://evil.example/c.json","redirect_uris":["https://a.example/cb"]}`)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			_, id, pool := docServer(t, h)
			r := New(Options{AllowPrivate: true, RootCAs: pool})
			if _, err := r.Resolve(context.Background(), id); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Resolve = %v, want ErrInvalid", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	const id = "https://app.example/client.json"
	f.Add(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1/cb"]}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":["javascript:x"],"grant_types":["refresh_token"]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		d, err := Parse([]byte(body), id)
		if err != nil {
			return
		}
		if d.ClientID != id || len(d.RedirectURIs) == 0 {
			t.Fatalf("accepted %q", body)
		}
	})
}
