// Package rotate is `tmcp keys rotate`: a new signing key for JWT access
// tokens.
package rotate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// Options are `keys rotate`'s inputs.
type Options struct{ serve.StoreOptions }

// NewCmd is `tmcp keys rotate`; runF replaces the run function in tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	return serve.StoreCmd(f, &cobra.Command{
		Use:   "rotate",
		Short: "Sign new JWT access tokens with a new key",
		Long: `Retire the current signing key and make a new one. Running auth servers pick
it up within 30 seconds; the retired public key stays in the JWKS until every
token it signed has expired.`,
		Example: `  tmcp keys rotate --store postgres://tmcp@db.internal/tmcp`,
	}, opts, &opts.StoreOptions, nil, runF, run)
}

func run(ctx context.Context, o *Options) error {
	key, err := o.Key()
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
