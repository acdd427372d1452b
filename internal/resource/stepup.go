package resource

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/ttlcache"
)

// Several MCP clients do not step up after a 403 insufficient_scope
// (MCP authorization §"Scope challenge handling"): they send the same
// token again, or give up. They work when the auth server's default scope
// already names every scope their tools need. stepUpWatch notices a
// client refused stepUpRepeats times within stepUpWindow for the same
// scopes and logs, once per client a day, the setting that helps.
const (
	stepUpRepeats = 3
	stepUpWindow  = 10 * time.Minute
	stepUpAdvised = 24 * time.Hour
	stepUpClients = 10000 // the bound of both caches
)

type stepUpWatch struct {
	mu      sync.Mutex
	refused *ttlcache.Cache[int]  // client and token scopes → 403s
	advised *ttlcache.Cache[bool] // client → logged
}

func newStepUpWatch() *stepUpWatch {
	return &stepUpWatch{refused: ttlcache.New[int](stepUpClients), advised: ttlcache.New[bool](stepUpClients)}
}

// refused notes a 403 for client, whose token holds have and the request
// needed need; at the stepUpRepeats-th it logs the advice.
func (w *stepUpWatch) refusedScope(ctx context.Context, log *slog.Logger, now time.Time, client string, have, need []string) {
	key := client + " " + oauth.JoinScope(have)
	w.mu.Lock()
	n, _ := w.refused.Get(key, now)
	n++
	w.refused.Put(key, n, now.Add(stepUpWindow), now)
	_, done := w.advised.Get(client, now)
	advise := n >= stepUpRepeats && !done
	if advise {
		w.advised.Put(client, true, now.Add(stepUpAdvised), now)
	}
	w.mu.Unlock()
	if advise {
		all := oauth.JoinScope(union(have, need))
		log.WarnContext(ctx, "an MCP client keeps getting 403 insufficient_scope without stepping up; clients that cannot step up "+
			"(TypeScript SDK 1.32.2, mcp-remote, mcp-go's client, @ai-sdk/mcp, mcporter) work when the first sign-in asks for every scope: "+
			"set TASKMANAGER_MCP_SCOPE=\""+all+"\" (--scope on serve auth or tmcp dev)",
			"client_id", client, "token_scope", oauth.JoinScope(have), "needs", oauth.JoinScope(need))
	}
}
