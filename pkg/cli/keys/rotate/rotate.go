// Package rotate is `tmcp keys rotate`: a new signing key for JWT access
// tokens.
package rotate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/authserver"
	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// Options are `keys rotate`'s inputs.
type Options struct {
	IO            *ui.IO
	Store         serve.StoreOpener
	EncryptionKey func() ([]byte, error)
}

// NewCmd is `tmcp keys rotate`; runF replaces the run function in tests of
// flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Sign new JWT access tokens with a new key",
		Long: `Retire the current signing key and make a new one. Running auth servers pick
it up within 30 seconds; the retired public key stays in the JWKS until every
token it signed has expired.`,
		Example: `  tmcp keys rotate --store postgres://tmcp@db.internal/tmcp`,
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, func(_ *cobra.Command, v *viper.Viper, _ []string) error {
			opts.Store = serve.Opener(v)
			opts.EncryptionKey = func() ([]byte, error) { return serve.EncryptionKey(v) }
			return nil
		}, runF, run),
	}
	cmdutil.Flag(cmd.Flags(), "store", config.KeyAuthStore)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	key, err := o.EncryptionKey()
	if err != nil {
		return err
	}
	return o.Store.Use(ctx, func(st store.Store, _ string) error {
		k, err := authserver.RotateKeys(ctx, st, key, time.Now())
		if err != nil {
			return fmt.Errorf("rotate keys: %w", err)
		}
		_, err = fmt.Fprintf(o.IO.Out, "✓ new signing key %s (%s); older keys are retired\n", k.KID, k.Alg)
		return err
	})
}
