package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// proofPool is proofs signed before the measurement, so that what is
// measured is the server checking them, not the load generator signing
// them on the same cores.
type proofPool struct {
	proofs []string
	next   atomic.Int64
	key    *dpop.Key
	uri    string
	token  string
}

func newProofPool(tb testing.TB, key *dpop.Key, uri, token string, n int) *proofPool {
	p := &proofPool{proofs: make([]string, n), key: key, uri: uri, token: token}
	for i := range p.proofs {
		var err error
		if p.proofs[i], err = key.Proof(http.MethodPost, uri, token, ""); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// take is a fresh proof: from the pool while it lasts, then signed now.
func (p *proofPool) take() string {
	if i := p.next.Add(1) - 1; i < int64(len(p.proofs)) {
		return p.proofs[i]
	}
	proof, _ := p.key.Proof(http.MethodPost, p.uri, p.token, "")
	return proof
}

// authCaller is rawCaller with the Authorization (and DPoP) headers
// auth gives for each request.
func authCaller(tb testing.TB, mcpURL, tool string, auth func(h http.Header)) func(int) error {
	tb.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: rawWorkers * 2, MaxIdleConnsPerHost: rawWorkers * 2, IdleConnTimeout: time.Minute}}
	tb.Cleanup(hc.CloseIdleConnections)
	post := func(session, body string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		auth(req.Header)
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	sessions := make([]string, rawWorkers)
	for i := range sessions {
		resp, body, err := post("", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}`)
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("initialize at %s: %v %s", mcpURL, err, body)
		}
		sessions[i] = resp.Header.Get("Mcp-Session-Id")
		if resp, body, err := post(sessions[i], `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil || resp.StatusCode/100 != 2 {
			tb.Fatalf("initialized at %s: %v %s", mcpURL, err, body)
		}
	}
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, tool)
	result := []byte(`"result"`)
	return func(w int) error {
		resp, body, err := post(sessions[w], call)
		switch {
		case err != nil:
			return err
		case resp.StatusCode != http.StatusOK || !bytes.Contains(body, result) || bytes.Contains(body, []byte(`"isError":true`)):
			return fmt.Errorf("%d %.200s", resp.StatusCode, body)
		}
		return nil
	}
}

// BenchmarkDPoP: authenticated tools/call on the built-in server with a
// DPoP-bound token and a fresh proof each call (checked: signature,
// claims, replay) against the same call with a bearer token, in the same
// run, opaque and JWT (target ≥ 0.90). Proofs are signed before the
// measurement; signing them is the client's cost.
func BenchmarkDPoP(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var ops []func(int) error
		formats := []string{authserver.FormatOpaque, authserver.FormatJWT}
		for _, format := range formats {
			stack := testkit.StartStack(b, testkit.AuthOptions{Resource: true,
				Mutate: func(c *authserver.Config) { c.TokenFormat = format }})
			mcpURL := stack.Resource.URL()
			bearer := stack.AccessToken(b, "read")
			key, err := dpop.NewKey()
			if err != nil {
				b.Fatal(err)
			}
			c := testkit.Discover(b, stack.Auth.URL())
			c.Resource, c.DPoP = mcpURL, key
			c.RegisterPublic()
			bound := c.SignInForTokens(map[string]string{"scope": "read"})["access_token"].(string)
			// Enough for the measurement below at well over 10,000 calls a
			// second; past it, proofs are signed as they go.
			pool := newProofPool(b, key, mcpURL, bound, 40000)
			ops = append(ops,
				authCaller(b, mcpURL, "whoami", func(h http.Header) { h.Set("Authorization", "Bearer "+bearer) }),
				authCaller(b, mcpURL, "whoami", func(h http.Header) {
					h.Set("Authorization", "DPoP "+bound)
					h.Set(dpop.Header, pool.take())
				}))
		}
		rounds := inRounds(b, rawWorkers, 4, 500*time.Millisecond, ops...)
		rates := meanRates(rounds)
		for k, format := range formats {
			bearerRate, dpopRate := rates[2*k], rates[2*k+1]
			ratio := medianRatioOf(rounds, 2*k+1, 2*k)
			b.ReportMetric(ratio, "ratio_dpop_"+format)
			fmt.Printf("tools/call  %-6s DPoP %8.0f/s  bearer %8.0f/s  ratio %.2f  (%d connections)\n", format, dpopRate, bearerRate, ratio, rawWorkers)
		}
	}
}

// medianRatioOf is medianRatio of op i against op base.
func medianRatioOf(rounds [][]float64, i, base int) float64 {
	pairs := make([][]float64, len(rounds))
	for r, rates := range rounds {
		pairs[r] = []float64{rates[base], rates[i]}
	}
	return medianRatio(pairs, 1)
}
