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
	cookie, err := SessionCookie(io, v.GetString(config.KeySessionCookie), v.GetString(config.KeyTMCookie))
	if err != nil {
		return upstream.Config{}, upstream.Session{}, err
	}
	s, err := upstream.SessionFrom(v.GetString(config.KeyTMCookie), cookie)
	if err != nil {
		return upstream.Config{}, upstream.Session{}, &cmdutil.FlagError{Err: fmt.Errorf("--session-cookie: %w", err)}
	}
	return serve.Upstream(v), s, nil
}

// SessionCookie resolves a cookie setting: the value, "-" for standard
// input, or "" to ask a terminal for the cookie called name.
func SessionCookie(io *ui.IO, value, name string) (string, error) {
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
		fmt.Fprintf(io.ErrOut, "TaskManager's session cookie %q: paste its value, or a request's whole Cookie header from the browser's Network tab (not shown): ", name)
		raw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.ErrOut)
		if err == nil && len(raw) > 0 {
			return string(raw), nil
		}
	}
	return "", &cmdutil.FlagError{Err: errors.New(
		"--session-cookie is required: log in to TaskManager in a browser and copy its session cookie " +
			"(its value from the Application/Storage tab, or the whole Cookie header of a request in the Network tab; " +
			"or set TMCP_SESSION_COOKIE, or pass - and pipe it in)")}
}
