// Package client holds what `tmcp client register` and `tmcp client list`
// share: TaskManager's address and the operator's session cookie. The
// commands live in its sub-packages.
package client

import (
	"errors"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

// SessionFlags declares the flags that reach TaskManager as the operator.
func SessionFlags(fs *pflag.FlagSet) {
	cmdutil.Flags(fs, config.KeyTMBaseURL)
	fs.String("session-cookie", "", "your TaskManager session cookie (value, or name=value)")
	cmdutil.Flags(fs, config.KeyTMCookie)
}

// Session reads TaskManager's endpoints and the operator's session from
// cmd's settings; the cookie is required.
func Session(cmd *cobra.Command, v *viper.Viper) (upstream.Config, upstream.Session, error) {
	cookie, _ := cmd.Flags().GetString("session-cookie")
	if cookie == "" {
		return upstream.Config{}, upstream.Session{}, &cmdutil.FlagError{Err: errors.New(
			"--session-cookie is required: log in to TaskManager in a browser and copy its session cookie")}
	}
	return serve.Upstream(v), upstream.ParseSession(v.GetString(config.KeyTMCookie), cookie), nil
}
