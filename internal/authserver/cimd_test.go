package authserver_test

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// cimdClient serves a Client ID Metadata Document over TLS on loopback.
func cimdClient(t *testing.T, redirects string) (id string, pool *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"client_id":%q,"client_name":"Document Client","redirect_uris":[%s],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`,
			"https://"+r.Host+r.URL.Path, redirects)
	}))
	t.Cleanup(srv.Close)
	pool = x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv.URL + "/oauth/client.json", pool
}

func TestCIMD_ClientIDIsItsMetadataURL(t *testing.T) {
	t.Parallel()
	id, pool := cimdClient(t, `"`+testkit.ClientRedirect+`"`)
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.CIMD = cimd.Options{AllowPrivate: true, RootCAs: pool} // --dev: the document is on loopback
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	if !c.Meta.ClientIDMetadataDocumentSupported {
		t.Fatal("metadata does not advertise client_id_metadata_document_supported")
	}
	c.ClientID = id // no registration
	b := testkit.NewBrowser(t, c.RedirectURI)
	authz := c.AuthorizeURL(nil)
	p := b.Get(authz.URL)
	if p.Status != http.StatusOK || !containsAll(p.Body, "Document Client", id) {
		t.Fatalf("consent page for a document client: %d", p.Status)
	}
	back := testkit.SignIn(t, b, authz.URL)
	status, tok := c.Exchange(back.Query().Get("code"), authz.Verifier)
	if status != 200 || tok["refresh_token"] == nil {
		t.Fatalf("token for a document client: %d %v", status, tok)
	}
	pageError(t, c.AuthorizeURL(map[string]string{"redirect_uri": "http://127.0.0.1:4000/other"}).URL, "redirect URI does not match")
}

func TestCIMD_PrivateAddressesRefusedOutsideDev(t *testing.T) {
	t.Parallel()
	id, pool := cimdClient(t, `"`+testkit.ClientRedirect+`"`)
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.CIMD = cimd.Options{RootCAs: pool}
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = id
	pageError(t, c.AuthorizeURL(nil).URL, "metadata document could not be used")
	// The page is generic: no dial error, no address of the network.
	if p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(nil).URL); strings.Contains(p.Body, "dial") || strings.Contains(p.Body, "public address") {
		t.Fatalf("the page shows the fetch's error:\n%s", p.Body)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// A document that is fine but for its redirect scheme says so, with the
// setting that allows the scheme, not "publisher must serve a valid
// document".
func TestCIMD_RefusedSchemeNamesItsSetting(t *testing.T) {
	t.Parallel()
	id, pool := cimdClient(t, `"cursor://anysphere.cursor-mcp/oauth/callback"`)
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.CIMD = cimd.Options{AllowPrivate: true, RootCAs: pool}
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = id
	p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(map[string]string{"redirect_uri": "cursor://anysphere.cursor-mcp/oauth/callback"}).URL)
	if !containsAll(p.Body, `the scheme &#34;cursor&#34;`, "--registration-scheme cursor") || strings.Contains(p.Body, "publisher must serve") {
		t.Fatalf("page for a refused scheme:\n%s", p.Body)
	}
}
