package gateway

import (
	"net/http"
	"testing"
)

// TestHeaders_DPoPProofNeverReachesTheBackend: a DPoP proof (RFC 9449)
// is the client's credential for tmcp, like its Authorization header.
func TestHeaders_DPoPProofNeverReachesTheBackend(t *testing.T) {
	h := http.Header{}
	h.Set("DPoP", "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.sig")
	if !excluded(h)[http.CanonicalHeaderKey("DPoP")] {
		t.Fatal("the DPoP header would be forwarded to the backend")
	}
}
