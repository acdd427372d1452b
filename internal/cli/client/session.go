// Package client holds what `tmcp client register` and `tmcp client list`
// share: TaskManager's address and the operator's session cookie. The
// commands live in its sub-packages.
package client

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// SessionFlags declares the flags that reach TaskManager as the operator.
func SessionFlags(fs *pflag.FlagSet) {
	cmdutil.Flags(fs, config.KeyTMBaseURL, config.KeySessionCookie, config.KeyTMCookie)
}

// Session reads TaskManager's endpoints and the operator's session. The
// cookie comes from --session-cookie or TMCP_SESSION_COOKIE; "-" reads it
// from standard input and, with neither, a terminal is asked without
// echo: a cookie given as an argument lands in ps and shell history.
func Session(io *ui.IO, v *viper.Viper) (upstream.Config, upstream.Session, error) {
	cookie, err := SessionCookie(io, v.GetString(config.KeySessionCookie))
	if err != nil {
		return upstream.Config{}, upstream.Session{}, err
	}
	return serve.Upstream(v), upstream.ParseSession(v.GetString(config.KeyTMCookie), cookie), nil
}

// SessionCookie resolves a cookie setting: the value, "-" for standard
// input, or "" to ask a terminal.
func SessionCookie(io *ui.IO, value string) (string, error) {
	switch {
	case value == "-":
		cookie, err := cmdutil.ReadLine(io.In)
		if err != nil || cookie == "" {
			return "", errors.New("--session-cookie -: no cookie on standard input")
		}
		return cookie, nil
	case value != "":
		return value, nil
	}
	if f, ok := io.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(io.ErrOut, "TaskManager session cookie (not shown): ")
		raw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.ErrOut)
		if err == nil && len(raw) > 0 {
			return string(raw), nil
		}
	}
	return "", &cmdutil.FlagError{Err: errors.New(
		"--session-cookie is required: log in to TaskManager in a browser and copy its session cookie " +
			"(or set TMCP_SESSION_COOKIE, or pass - and pipe it in)")}
}
