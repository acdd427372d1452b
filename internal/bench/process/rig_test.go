package process

import (
	"fmt"
	"net/http"
	_ "net/http/pprof"

	"os"
	"testing"
	"time"
)

func TestRig(t *testing.T) {
	if os.Getenv("RIG") == "" {
		t.Skip()
	}
	dir := "/tmp/rig"
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	backend := self(t, dir, "mcp", "mcp")
	gw := startDev(t, dir, "gateway", []string{"TMCP_PPROF=127.0.0.1:6061"}, "--proxy", "http://"+backend+"/mcp")
	own := startDev(t, dir, "builtin", []string{"TMCP_PPROF=127.0.0.1:6062"})
	fwd := self(t, dir, "fwd", "goproxy", "TMCP_BENCH_BACKEND=http://"+backend+"/mcp", "TMCP_PPROF=127.0.0.1:6063")
	ngx := nginx(t, dir, backend)
	viaFwd := mcpTarget(t, "fwd", "http://"+fwd+"/mcp", "")
	viaNginx := mcpTarget(t, "nginx", "http://"+ngx+"/mcp", "")
	direct := mcpTarget(t, "direct", "http://"+backend+"/mcp", "")
	gateway := mcpTarget(t, "gateway", gw.mcpURL, gw.token(t))
	ownToken := own.token(t)
	builtin := mcpTarget(t, "builtin", own.mcpURL, ownToken)
	introspect := introspectTarget(t, "introspect", own.authURL+"/introspect", ownToken, "tmcp-resource", resourceSecret)
	gc := []string{os.Getenv("RIG_ENV")}
	gw2 := startDev(t, dir, "gateway2", gc, "--proxy", "http://"+backend+"/mcp")
	own2 := startDev(t, dir, "builtin2", gc)
	gateway2 := mcpTarget(t, "gateway2", gw2.mcpURL, gw2.token(t))
	own2Token := own2.token(t)
	builtin2 := mcpTarget(t, "builtin2", own2.mcpURL, own2Token)
	introspect2 := introspectTarget(t, "introspect2", own2.authURL+"/introspect", own2Token, "tmcp-resource", resourceSecret)
	for _, x := range []*target{gateway2, builtin2, introspect2, viaFwd, viaNginx, direct, gateway, builtin, introspect} {
		x.prepare(t, dir)
		fmt.Printf("wrk -t1 -c32 -d5s -s %s %s\n", x.script, x.url)
	}
	os.Remove("/tmp/rig.stop")
	for {
		if _, err := os.Stat("/tmp/rig.stop"); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
}

func init() {
	if a := os.Getenv("TMCP_PPROF"); a != "" {
		go http.ListenAndServe(a, nil)
	}
}
