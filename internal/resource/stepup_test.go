package resource_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// logBuffer is a log sink the servers write to from their goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A client that gets 403 insufficient_scope again and again with the
// same token does not step up: the MCP server logs, once, the setting
// that lets such a client work.
func TestStepUp_RepeatedRefusalLogsTheScopeSettingOnce(t *testing.T) {
	t.Parallel()
	var log logBuffer
	stack, _, readToken := full(t, testkit.AuthOptions{Log: &log}, "read")
	const advice = "keeps getting 403 insufficient_scope without stepping up"
	for i := range 5 {
		if resp := rawCall(t, stack.Resource.URL(), readToken, "create_task"); resp.StatusCode != 403 {
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		}
		if i == 1 && strings.Contains(log.String(), advice) {
			t.Fatal("advice after two refusals: a client that steps up gets one 403 per scope")
		}
	}
	got := log.String()
	if n := strings.Count(got, advice); n != 1 {
		t.Fatalf("advice logged %d times:\n%s", n, got)
	}
	if !strings.Contains(got, `TASKMANAGER_MCP_SCOPE=\"read write\"`) {
		t.Fatalf("the advice does not name the setting:\n%s", got)
	}
}
