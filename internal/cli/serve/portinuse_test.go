package serve

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/httpx"
)

// An ops listener set to the server's own port fails on the server's
// own listener: nothing else holds it, and the message names the ops
// listener's setting, not --port.
func TestPortInUse_OpsAddressOnTheServersOwnPortNamesTheOpsListener(t *testing.T) {
	main, err := net.Listen("tcp", "127.0.0.1:0") // the server's listener
	if err != nil {
		t.Fatal(err)
	}
	defer main.Close()
	port := main.Addr().(*net.TCPAddr).Port
	_, err = httpx.OpsListener(nil, "127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		t.Fatal("the ops listener opened on a taken port")
	}
	err = fmt.Errorf("start: %w", err) // however the server wraps it
	got := PortInUse(err, "--port", config.KeyAuthPort, port, "--ops-addr", config.KeyAuthOpsAddr).Error()
	if !strings.Contains(got, "--ops-addr") || strings.Contains(got, "--port") {
		t.Errorf("got %q, want the ops listener's setting named", got)
	}
}
