package serve

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// StoreOpener opens the auth server's store on demand, so that tests of
// an operator command's flags open nothing.
type StoreOpener func(ctx context.Context) (st store.Store, where string, err error)

// Use opens the store, hands it to fn with its description, and closes it.
func (open StoreOpener) Use(ctx context.Context, fn func(st store.Store, where string) error) error {
	st, where, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st, where)
}

// StoreOptions are what every operator command on the auth server's
// store has.
type StoreOptions struct {
	IO    *ui.IO
	Store StoreOpener
	// Key is the encryption key the store's secrets are sealed with.
	Key func() ([]byte, error)
}

// StoreCmd completes cmd as an operator command on the auth server's
// store: it declares --store, fills so from the settings, then runs fill
// (if any) and the command as cmdutil.New does.
func StoreCmd[O any](f *cmdutil.Factory, cmd *cobra.Command, opts *O, so *StoreOptions, fill cmdutil.Fill,
	runF, run func(context.Context, *O) error) *cobra.Command {
	so.IO = f.IO
	cmdutil.Flags(cmd.Flags(), config.KeyAuthStore)
	return cmdutil.New(cmd, opts, func(cmd *cobra.Command, v *viper.Viper, args []string) error {
		so.Store = func(ctx context.Context) (store.Store, string, error) { return OpenStore(ctx, v) }
		so.Key = func() ([]byte, error) { return EncryptionKey(v) }
		if fill == nil {
			return nil
		}
		return fill(cmd, v, args)
	}, runF, run)
}
