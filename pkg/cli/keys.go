package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/authserver"
	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/store"
)

// newKeysCmd is `tmcp keys`: the signing keys of JWT access tokens.
func newKeysCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the keys JWT access tokens are signed with"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Sign new JWT access tokens with a new key",
		Long: `Retire the current signing key and make a new one. Running auth servers pick
it up within 30 seconds; the retired public key stays in the JWKS until every
token it signed has expired.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, st store.Store, v *viper.Viper, _ string) error {
				key, err := config.EncryptionKey(v)
				if err != nil {
					return err
				}
				k, err := authserver.RotateKeys(ctx, st, key, time.Now())
				if err != nil {
					return fmt.Errorf("rotate keys: %w", err)
				}
				_, err = fmt.Fprintf(f.IO.Out, "✓ new signing key %s (%s); older keys are retired\n", k.KID, k.Alg)
				return err
			})
		},
	}
	cmdutil.Flag(rotate.Flags(), "store", config.KeyAuthStore)
	cmd.AddCommand(rotate)
	return cmd
}
