package process

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/tmcp-dev/tmcp/internal/gcpolicy"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/testkit/oidcop"
)

// connections is wrk's -c: enough that the servers, not wrk, run out.
const connections = 32

// The rounds: TMCP_BENCH_ROUNDS rounds (default 3) of TMCP_BENCH_ROUND
// each (default 5s) for every target.
func roundsAndLength(tb testing.TB) (int, time.Duration) {
	n, d := 3, 5*time.Second
	if s := os.Getenv("TMCP_BENCH_ROUNDS"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 {
			tb.Fatalf("TMCP_BENCH_ROUNDS=%q: want a count ≥ 1", s)
		}
	}
	if s := os.Getenv("TMCP_BENCH_ROUND"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < time.Second {
			tb.Fatalf("TMCP_BENCH_ROUND=%q: want a duration ≥ 1s", s)
		}
	}
	return n, d
}

const initialize = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}`

// toolsCall is the request every tools/call target sends.
const toolsCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// mcpTarget opens one MCP session at mcpURL (initialize, then
// initialized) and returns a target calling whoami in it: wrk's 32
// connections share the session, as one client's parallel requests do.
func mcpTarget(tb testing.TB, name, mcpURL, token string) *target {
	tb.Helper()
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	resp := post(tb, mcpURL, initialize, h)
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		tb.Fatalf("%s: initialize answered no session", name)
	}
	h["Mcp-Session-Id"] = sid
	h["Mcp-Protocol-Version"] = "2025-11-25"
	post(tb, mcpURL, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, h)
	t := &target{name: name, url: mcpURL, body: toolsCall, headers: h}
	check(tb, t, `"structuredContent"`)
	return t
}

// introspectTarget introspects token at u as client id.
func introspectTarget(tb testing.TB, name, u, token, id, secret string) *target {
	tb.Helper()
	t := &target{name: name, url: u, body: url.Values{"token": {token}}.Encode(), headers: map[string]string{
		"Content-Type":  "application/x-www-form-urlencoded",
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret)),
	}}
	check(tb, t, `"active":true`)
	return t
}

func post(tb testing.TB, u, body string, h map[string]string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", u, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("POST %s: %d %.300s", u, resp.StatusCode, b)
	}
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

// check sends t's request once: a 2xx whose body holds want, or the
// benchmark fails before any round.
func check(tb testing.TB, t *target, want string) {
	tb.Helper()
	resp := post(tb, t.url, t.body, t.headers)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), want) {
		tb.Fatalf("%s answered without %s: %.300s", t.name, want, b)
	}
}

// BenchmarkProcess: the servers as separate processes, driven by wrk in
// alternating rounds, ratios as medians of the rounds' ratios.
//
//   - tools/call: tmcp dev's built-in whoami (token checked) against a
//     bare mcp-go server with the same tool, and against that server at
//     tmcp's GOGC; tmcp dev --proxy in front of that server against
//     calling it directly, beside nginx and haproxy (no auth, keep-alive
//     upstreams) and a bare Go proxy (net/http and the gateway's
//     forwarder, no checks) in front of it.
//   - /introspect (tmcp dev's auth server, a real token, the resource
//     server's credentials) against a bare net/http form handler writing
//     the same body, and against the zitadel/oidc example provider
//     introspecting its own token.
//   - cost growth: /introspect with a million live tokens (SQLite, and
//     PostgreSQL when there is one) and tools/call with 10,000 open
//     sessions, each against the same server empty (-short skips these).
func BenchmarkProcess(b *testing.B) {
	for _, tool := range []string{"wrk", nginxBin, "/usr/sbin/haproxy"} {
		if !exists(tool) {
			if os.Getenv("CI") != "" {
				b.Fatalf("%s is missing (.ci/run installs it)", tool)
			}
			b.Skipf("%s is missing (Debian: wrk, nginx-light, haproxy)", tool)
		}
	}
	for i := 0; i < b.N; i++ {
		n, d := roundsAndLength(b)
		dir := b.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil { // nginx's workers may run as another user
			b.Fatal(err)
		}
		backend := self(b, dir, "mcp", "mcp")
		// The same server with the garbage collector set as tmcp's
		// servers set it (gcpolicy): what is left of the built-in
		// tools' ratio once that difference is out of it.
		gogc := fmt.Sprintf("GOGC=%d", gcpolicy.GCPercent)
		backendGC := self(b, dir, "mcp-gogc", "mcp", gogc)
		// The least any Go gateway pays, its collector set as tmcp's.
		goproxy := self(b, dir, "goproxy", "goproxy", backendEnv+"=http://"+backend+"/mcp", gogc)
		gw := startDev(b, dir, "gateway", nil, "--proxy", "http://"+backend+"/mcp")
		own := startDev(b, dir, "builtin", nil)
		ngx, hap := nginx(b, dir, backend), haproxy(b, dir, backend)

		direct := mcpTarget(b, "direct", "http://"+backend+"/mcp", "")
		gateway := mcpTarget(b, "gateway", gw.mcpURL, gw.token(b))
		viaNginx := mcpTarget(b, "nginx", "http://"+ngx+"/mcp", "")
		viaHAProxy := mcpTarget(b, "haproxy", "http://"+hap+"/mcp", "")
		viaGo := mcpTarget(b, "go proxy", "http://"+goproxy+"/mcp", "")
		directGC := mcpTarget(b, "direct gogc", "http://"+backendGC+"/mcp", "")
		ownToken := own.token(b)
		builtin := mcpTarget(b, "builtin", own.mcpURL, ownToken)

		introspect := introspectTarget(b, "introspect", own.authURL+"/introspect", ownToken, "tmcp-resource", resourceSecret)
		sample := post(b, introspect.url, introspect.body, introspect.headers)
		body, _ := io.ReadAll(sample.Body)
		form := self(b, dir, "form", "form", bodyEnv+"="+string(body))
		bare := introspectTarget(b, "bare form", "http://"+form+"/introspect", ownToken, "tmcp-resource", resourceSecret)
		zopts := oidcop.Options{ClientID: "web", ClientSecret: "secret", RedirectURI: "http://127.0.0.1:1/callback"}
		zIssuer := zitadel(b, dir, zopts.RedirectURI)
		zToken := (&oidcop.Provider{Issuer: zIssuer}).AccessToken(b, zopts, oidcop.User{Username: "test-user@localhost", Password: "verysecure"})
		zit := introspectTarget(b, "zitadel", zIssuer+"/oauth/introspect", zToken, zopts.ClientID, zopts.ClientSecret)

		targets := []*target{direct, gateway, viaNginx, viaHAProxy, builtin, bare, introspect, zit, viaGo, directGC}
		for _, t := range targets {
			t.prepare(b, dir)
		}
		drive(b, direct, connections, time.Second) // warm up: connections, caches, CPU clock
		rs := rounds(b, n, d, targets...)
		ratio := func(i, base int) float64 { return medianRatio(rs, i, base) }
		rate := func(i int) string { return kilo(medianRate(rs, i)) }
		b.ReportMetric(ratio(1, 0), "ratio_gateway")
		b.ReportMetric(ratio(2, 0), "ratio_nginx")
		b.ReportMetric(ratio(3, 0), "ratio_haproxy")
		b.ReportMetric(ratio(1, 2), "gateway_to_nginx")
		b.ReportMetric(ratio(8, 0), "ratio_goproxy")
		b.ReportMetric(ratio(1, 8), "gateway_to_goproxy")
		b.ReportMetric(ratio(4, 0), "ratio_builtin")
		b.ReportMetric(ratio(4, 9), "builtin_to_same_gogc")
		b.ReportMetric(ratio(6, 5), "ratio_introspect")
		b.ReportMetric(ratio(6, 7), "introspect_to_zitadel")
		fmt.Printf("wrk -t1 -c%d, %d alternating rounds of %v, medians; tmcp dev and every baseline in its own process\n", connections, n, d)
		fmt.Printf("tools/call  gateway (tmcp dev --proxy) %s  backend directly %s  ratio %.2f\n", rate(1), rate(0), ratio(1, 0))
		fmt.Printf("tools/call  nginx (no auth)            %s  ratio %.2f;  haproxy (no auth) %s  ratio %.2f;  gateway %.2f× nginx's\n",
			rate(2), ratio(2, 0), rate(3), ratio(3, 0), ratio(1, 2))
		fmt.Printf("tools/call  bare Go proxy (no checks)  %s  ratio %.2f;  gateway %.2f× its;  %.2f× nginx's\n",
			rate(8), ratio(8, 0), ratio(1, 8), ratio(8, 2))
		fmt.Printf("tools/call  built-in (tmcp dev)        %s  bare mcp-go      %s  ratio %.2f;  bare mcp-go at GOGC=%d %s  ratio %.2f\n",
			rate(4), rate(0), ratio(4, 0), gcpolicy.GCPercent, rate(9), ratio(4, 9))
		fmt.Printf("introspect  tmcp dev                   %s  bare form handler %s  ratio %.2f;  zitadel/oidc %s example provider %s (tmcp %.2f×)\n",
			rate(6), rate(5), ratio(6, 5), zitadelVersion, rate(7), ratio(6, 7))

		if testing.Short() {
			fmt.Println("cost growth: skipped (-short)")
			continue
		}
		growth(b, dir, n, min(d, 3*time.Second), introspect, builtin)
	}
}

// growth measures the same requests against servers holding a million
// live tokens or 10,000 open sessions, each beside the empty server in
// alternating rounds (of at most 3 s: filling the stores takes long
// enough).
func growth(b *testing.B, dir string, n int, d time.Duration, introspect, builtin *target) {
	// The servers first, then their filling, all at once: nothing is
	// measured until every store is full.
	type fill struct {
		name string
		do   func() error
		took time.Duration
		err  error
	}
	var fills []*fill
	full := startDev(b, dir, "sqlite-1m", nil)
	fullToken := full.token(b)
	fills = append(fills, &fill{name: "SQLite", do: func() error {
		return fillSQLite(filepath.Join(full.stateDir, "tmcp.db"), fullToken, 1_000_000)
	}})
	var emptyPG, fullPG *dev
	var emptyPGToken, fullPGToken string
	if hasPostgres() {
		emptyPG = startDev(b, dir, "pg-empty", []string{"TMCP_STORE=" + testkit.StartPostgres(b)})
		dsn := testkit.StartPostgres(b)
		fullPG = startDev(b, dir, "pg-1m", []string{"TMCP_STORE=" + dsn})
		emptyPGToken, fullPGToken = emptyPG.token(b), fullPG.token(b)
		fills = append(fills, &fill{name: "PostgreSQL", do: func() error { return fillPostgres(dsn, fullPGToken, 1_000_000) }})
	}
	// 10,000 sessions open besides wrk's, by one user (the per-user and
	// per-client session limits are off for this server).
	many := startDev(b, dir, "sessions-10k", []string{"TMCP_RESOURCE_MAX_SESSIONS=20000",
		"TMCP_RESOURCE_MAX_SESSIONS_PER_USER=0", "TMCP_RESOURCE_MAX_SESSIONS_PER_CLIENT=0"})
	manyToken := many.token(b)
	fills = append(fills, &fill{name: "sessions", do: func() error { return openSessions(many.mcpURL, manyToken, 10_000) }})
	var wg sync.WaitGroup
	for _, f := range fills {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			f.err, f.took = f.do(), time.Since(began)
		}()
	}
	wg.Wait()
	for _, f := range fills {
		if f.err != nil {
			b.Fatalf("filling %s: %v", f.name, f.err)
		}
	}

	type pair struct {
		what, metric string
		empty, big   *target
		took         time.Duration
	}
	pairs := []pair{{"introspect, 1M live tokens (SQLite)", "growth_1m_sqlite", introspect,
		introspectTarget(b, "introspect-sqlite-1m", full.authURL+"/introspect", fullToken, "tmcp-resource", resourceSecret), fills[0].took}}
	if fullPG != nil {
		pairs = append(pairs, pair{"introspect, 1M live tokens (PostgreSQL)", "growth_1m_postgres",
			introspectTarget(b, "introspect-pg-empty", emptyPG.authURL+"/introspect", emptyPGToken, "tmcp-resource", resourceSecret),
			introspectTarget(b, "introspect-pg-1m", fullPG.authURL+"/introspect", fullPGToken, "tmcp-resource", resourceSecret), fills[1].took})
	} else {
		fmt.Println("introspect, 1M live tokens (PostgreSQL): skipped, no PostgreSQL here")
	}
	pairs = append(pairs, pair{"tools/call, 10k open sessions (built-in)", "growth_10k_sessions", builtin,
		mcpTarget(b, "builtin-10k-sessions", many.mcpURL, manyToken), fills[len(fills)-1].took})

	var targets []*target
	for _, p := range pairs {
		p.big.prepare(b, dir)
		if p.empty != introspect && p.empty != builtin {
			p.empty.prepare(b, dir)
		}
		targets = append(targets, p.empty, p.big)
	}
	rs := rounds(b, n, d, targets...)
	fmt.Printf("cost growth: %d alternating rounds of %v, medians (stores filled side by side)\n", n, d)
	for k, p := range pairs {
		r := medianRatio(rs, 2*k+1, 2*k)
		b.ReportMetric(r, p.metric)
		fmt.Printf("%-42s %s  empty %s  ratio %.2f  (filled in %s)\n", p.what,
			kilo(medianRate(rs, 2*k+1)), kilo(medianRate(rs, 2*k)), r, p.took.Round(time.Second))
	}
}

func kilo(rate float64) string { return fmt.Sprintf("%5.1fk/s", rate/1000) }

func exists(path string) bool {
	if !strings.Contains(path, "/") {
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if exists(filepath.Join(dir, path)) {
				return true
			}
		}
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// hasPostgres: CI's cluster, or Debian's binaries to start one.
func hasPostgres() bool {
	if os.Getenv("TMCP_TEST_POSTGRES") != "" {
		return true
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	return len(bins) > 0
}

// fillSQL stores n live access tokens on the grant of the token whose
// hash is given, in one statement ($1 the count, $2 the grant, $3 and $4
// issued and expiry times): row by row through the store would take
// minutes. The keys rise with the row (a lookup in a million-row index
// costs the same whatever order it was filled in, and filling in order
// takes a fraction of the time).
const fillSQL = `INSERT INTO tokens (` + sqlrow.TokenColumns + `)
	SELECT %s, 'access', $2, %s, 'read', $3, $4, 0, 0, '', NULL, 0, '' FROM %s`

func fillSQLite(path, token string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	var grant string
	if err := db.QueryRowContext(ctx, `SELECT grant_id FROM tokens WHERE hash = ?`, secrets.Hash(token)).Scan(&grant); err != nil {
		return err
	}
	now := time.Now()
	q := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) ` +
		fmt.Sprintf(fillSQL, `printf('f%063d', i)`, `printf('filler-%07d', i)`, `n`)
	if _, err := db.ExecContext(ctx, q, n, grant, now.UnixNano(), now.Add(time.Hour).UnixNano()); err != nil {
		return err
	}
	// Into the database file, as a server running for a while would have
	// it: not a million rows for every read to look past in the WAL.
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func fillPostgres(dsn, token string, n int) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var grant string
	if err := conn.QueryRow(ctx, `SELECT grant_id FROM tokens WHERE hash = $1`, secrets.Hash(token)).Scan(&grant); err != nil {
		return err
	}
	now := time.Now()
	q := fmt.Sprintf(fillSQL, `'f' || lpad(i::text, 63, '0')`, `'filler-' || lpad(i::text, 7, '0')`, `generate_series(1, $1::int) AS i`)
	if _, err := conn.Exec(ctx, q, n, grant, now.UnixNano(), now.Add(time.Hour).UnixNano()); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `ANALYZE tokens`)
	return err
}

// openSessions opens n MCP sessions at mcpURL with token, eight at a
// time, and leaves them open.
func openSessions(mcpURL, token string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer hc.CloseIdleConnections()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(initialize))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := hc.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" {
					errs <- fmt.Errorf("initialize: %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("opening %d sessions: %w", n, err)
	}
	return nil
}
