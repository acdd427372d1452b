// Package revoke is `tmcp tokens revoke --user|--client`.
package revoke

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// Options are `tokens revoke`'s inputs: exactly one of User and Client.
type Options struct {
	serve.StoreOptions
	User, Client string
}

// NewCmd is `tmcp tokens revoke`; runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := serve.StoreCmd(f, &cobra.Command{
		Use:   "revoke",
		Short: "Revoke every token of a user or of a client",
		Long: `Revoke every grant (its access and refresh tokens, and codes not yet redeemed)
of one user (--user, TaskManager's subject) or of one client (--client). With
opaque tokens resource servers see it at once (or within their introspection
cache); JWT access tokens stay valid until they expire.`,
		Example: `  tmcp tokens revoke --user user-42
  tmcp tokens revoke --client tmcp_ci_abc`,
	}, opts, &opts.StoreOptions, func(*cobra.Command, *viper.Viper, []string) error {
		if (opts.User == "") == (opts.Client == "") {
			return cmdutil.UsageErrorf("give exactly one of --user or --client")
		}
		return nil
	}, runF, run)
	cmd.Flags().StringVar(&opts.User, "user", "", "the user's subject (sub)")
	cmd.Flags().StringVar(&opts.Client, "client", "", "the client id")
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
