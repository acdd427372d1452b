// Package revoke is `tmcp tokens revoke --user|--client`.
package revoke

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// Options are `tokens revoke`'s inputs: exactly one of User and Client.
type Options struct {
	IO     *ui.IO
	Store  serve.StoreOpener
	User   string
	Client string
}

// NewCmd is `tmcp tokens revoke`; runF replaces the run function in tests
// of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke every token of a user or of a client",
		Long: `Revoke every grant (its access and refresh tokens, and codes not yet redeemed)
of one user (--user, TaskManager's subject) or of one client (--client). With
opaque tokens resource servers see it at once (or within their introspection
cache); JWT access tokens stay valid until they expire.`,
		Example: `  tmcp tokens revoke --user user-42
  tmcp tokens revoke --client tmcp_ci_abc`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, func(_ *cobra.Command, v *viper.Viper, _ []string) error {
			if (opts.User == "") == (opts.Client == "") {
				return cmdutil.UsageErrorf("give exactly one of --user or --client")
			}
			opts.Store = serve.Opener(v)
			return nil
		}, runF, run),
	}
	cmd.Flags().StringVar(&opts.User, "user", "", "the user's subject (sub)")
	cmd.Flags().StringVar(&opts.Client, "client", "", "the client id")
	cmdutil.Flag(cmd.Flags(), "store", config.KeyAuthStore)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	return o.Store.Use(ctx, func(st store.Store, _ string) error {
		n, err := st.RevokeGrantsOf(ctx, o.User, o.Client, time.Now())
		if err != nil {
			return err
		}
		who := "user " + o.User
		if o.Client != "" {
			who = "client " + o.Client
		}
		_, err = fmt.Fprintf(o.IO.Out, "✓ revoked %d grant(s) of %s\n", n, who)
		return err
	})
}
