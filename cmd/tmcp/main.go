// Command tmcp puts an existing OAuth provider in front of MCP servers.
package main

import (
	"os"

	"github.com/tmcp-dev/tmcp/pkg/cli"
)

func main() { os.Exit(cli.Execute()) }
