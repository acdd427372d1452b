package resource_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/resource"
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

// The built-in tools against a TaskManager the auth server does not know
// (an OpenID provider upstream, or a wrong --taskmanager-url) name the
// fix, not only the fault.
func TestTools_OtherTaskManagerNamesTheFix(t *testing.T) {
	t.Parallel()
	stack, _, readToken := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.TaskManager = "http://taskmanager.invalid"
	}}, "read")
	c, err := testkit.MCP(t, stack.Resource.URL(), readToken, "", false)
	if err != nil {
		t.Fatal(err)
	}
	res, text := testkit.CallTool(t, c, "list_tasks", nil)
	for _, want := range []string{"name different TaskManager URLs", "--taskmanager-url", "--proxy URL, or -- COMMAND"} {
		if !res.IsError || !strings.Contains(text, want) {
			t.Fatalf("no %q in\n%s", want, text)
		}
	}
}
