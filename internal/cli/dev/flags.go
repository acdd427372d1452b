package dev

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/auth"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/resource"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/sandbox"
	"github.com/tmcp-dev/tmcp/internal/config"
)

// Wired are the settings of the three serve commands that tmcp dev sets
// itself, to point its servers at each other (or, for the upstream ones,
// at its sandbox): they are no flags of dev. Every other setting of
// serve sandbox, serve auth and serve resource is a dev flag, so a setting
// added to one of them reaches dev without more code.
var Wired = map[string]string{
	config.KeyTMBaseURL:           "the sandbox's URL",
	config.KeyTMClientID:          "the client dev registers at its sandbox",
	config.KeyTMSecret:            "the client dev registers at its sandbox",
	config.KeyTMAdminCookie:       "the client dev registers at its sandbox",
	config.KeyTMIssuer:            "the upstream is the sandbox",
	config.KeyTMPreset:            "the upstream is the sandbox",
	config.KeyTMTenant:            "the upstream is the sandbox",
	config.KeyTMAudience:          "the upstream is the sandbox",
	config.KeyTMAuthorize:         "the upstream is the sandbox",
	config.KeyTMToken:             "the upstream is the sandbox",
	config.KeyTMUserinfo:          "the upstream is the sandbox",
	config.KeyTMAuthMethod:        "the upstream is the sandbox",
	config.KeyJWTIssuer:           "the upstream is the sandbox",
	config.KeyResourceAuthURL:     "the auth server dev runs",
	config.KeySandboxClientID:     "the client dev registers at its sandbox",
	config.KeySandboxClientSecret: "the client dev registers at its sandbox",
	config.KeySandboxRedirectURIs: "the auth server dev runs",
	config.KeyAuthDev:             "always on in dev",
	config.KeyAuthRequireDPoP:     "--require-dpop sets it on both servers",
}

// IsWired says whether dev sets key itself: a key of Wired, or the file
// setting of one.
func IsWired(key string) bool {
	if Wired[key] != "" {
		return true
	}
	secret, ok := strings.CutSuffix(key, "_file")
	return ok && config.IsFileSetting(key) && Wired[secret] != ""
}

// Flag is one serve setting as a dev flag.
type Flag struct {
	Name, Key string
	// Server is the serve command the setting comes from.
	Server string
}

// Flags are the dev flags of the serve commands' settings. A flag name
// two servers give different settings (port, host, tls-cert) becomes
// SERVER-NAME in dev (--auth-port, --resource-tls-cert), as dev runs them
// all.
func Flags() []Flag {
	f := &cmdutil.Factory{}
	servers := []struct {
		name string
		cmd  *cobra.Command
	}{
		{"sandbox", sandbox.NewCmd(f, nil)},
		{"auth", auth.NewCmd(f, nil)},
		{"resource", resource.NewCmd(f, nil)},
	}
	keysOf := map[string]map[string]bool{} // flag name → the keys it sets
	for _, s := range servers {
		s.cmd.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if key := cmdutil.SettingOf(fl); key != "" && Wired[key] == "" {
				if keysOf[fl.Name] == nil {
					keysOf[fl.Name] = map[string]bool{}
				}
				keysOf[fl.Name][key] = true
			}
		})
	}
	var flags []Flag
	done := map[string]bool{}
	for _, s := range servers {
		s.cmd.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			key := cmdutil.SettingOf(fl)
			// A secret's file setting (--demo-password-file) comes with
			// its flag.
			if key == "" || done[key] || Wired[key] != "" || config.IsFileSetting(key) {
				return
			}
			done[key] = true
			name := fl.Name
			if len(keysOf[name]) > 1 {
				name = s.name + "-" + name
			}
			flags = append(flags, Flag{Name: name, Key: key, Server: s.name})
		})
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	return flags
}

// declareFlags gives dev every serve flag of Flags, and --clients.
func declareFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	for _, fl := range Flags() {
		cmdutil.FlagAs(fs, fl.Name, fl.Key)
	}
	fs.StringSlice("clients", nil, "MCP clients to let in: allows the redirect schemes they register and, for clients that cannot step up after a 403, makes the default scope every scope ("+joinNames()+"; repeatable or comma-separated)")
	_ = cmd.RegisterFlagCompletionFunc("clients", cobra.FixedCompletions(config.ClientNames(), cobra.ShellCompDirectiveNoFileComp))
}

func joinNames() string {
	s := ""
	for i, n := range config.ClientNames() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
