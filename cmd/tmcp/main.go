// Command tmcp puts an existing OAuth provider in front of MCP servers.
package main

import (
	"os"

	"github.com/tmcp-dev/tmcp/internal/cli"
)

//go:generate go run ../gendocs -out ../..

func main() { os.Exit(cli.Execute()) }
