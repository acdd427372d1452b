package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/backend"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// withStore opens (and migrates) the auth server's store for an operator
// command; fn also gets the settings and the store's description.
func withStore(cmd *cobra.Command, fn func(ctx context.Context, st store.Store, v *viper.Viper, where string) error) error {
	v, err := cmdutil.Settings(cmd, map[string]string{"store": config.KeyAuthStore})
	if err != nil {
		return err
	}
	loc := config.StorePath(v)
	st, err := backend.Open(cmd.Context(), loc)
	if err != nil {
		return fmt.Errorf("open %s: %w", backend.Describe(loc), err)
	}
	defer st.Close()
	return fn(cmd.Context(), st, v, backend.Describe(loc))
}

// newTokensCmd is `tmcp tokens revoke --user|--client`.
func newTokensCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Revoke MCP tokens the auth server issued"}
	var user, client string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke every token of a user or of a client",
		Long: `Revoke every grant (its access and refresh tokens, and codes not yet redeemed)
of one user (--user, TaskManager's subject) or of one client (--client). With
opaque tokens resource servers see it at once (or within their introspection
cache); JWT access tokens stay valid until they expire.`,
		Example: `  tmcp tokens revoke --user user-42
  tmcp tokens revoke --client tmcp_ci_abc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (user == "") == (client == "") {
				return &cmdutil.ExitError{Code: 2, Err: errors.New("give exactly one of --user or --client")}
			}
			return withStore(cmd, func(ctx context.Context, st store.Store, _ *viper.Viper, _ string) error {
				n, err := st.RevokeGrantsOf(ctx, user, client, time.Now())
				if err != nil {
					return err
				}
				who := "user " + user
				if client != "" {
					who = "client " + client
				}
				_, err = fmt.Fprintf(f.IO.Out, "✓ revoked %d grant(s) of %s\n", n, who)
				return err
			})
		},
	}
	revoke.Flags().StringVar(&user, "user", "", "the user's subject (sub)")
	revoke.Flags().StringVar(&client, "client", "", "the client id")
	cmdutil.Flag(revoke.Flags(), "store", config.KeyAuthStore)
	cmd.AddCommand(revoke)
	return cmd
}

// newClientsCmd is `tmcp clients list|delete`: the MCP clients registered
// with the auth server itself (not tmcp's client at TaskManager).
func newClientsCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "List and delete MCP clients registered with the auth server"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the registered MCP clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ui.CheckFormat(output); err != nil {
				return err
			}
			return withStore(cmd, func(ctx context.Context, st store.Store, _ *viper.Viper, _ string) error {
				cs, err := st.ListClients(ctx)
				if err != nil {
					return err
				}
				if output == ui.FormatJSON {
					type row struct {
						ID           string    `json:"client_id"`
						Name         string    `json:"client_name"`
						RedirectURIs []string  `json:"redirect_uris"`
						AuthMethod   string    `json:"token_endpoint_auth_method"`
						CreatedAt    time.Time `json:"created_at"`
					}
					out := []row{}
					for _, c := range cs {
						out = append(out, row{c.ID, c.Name, c.RedirectURIs, c.TokenEndpointAuthMethod, c.CreatedAt.UTC()})
					}
					return f.IO.PrintJSON(out)
				}
				if len(cs) == 0 {
					_, err := fmt.Fprintln(f.IO.Out, "No MCP clients are registered.")
					return err
				}
				rows := make([][]string, 0, len(cs))
				for _, c := range cs {
					rows = append(rows, []string{c.ID, c.Name, strings.Join(c.RedirectURIs, " "), c.TokenEndpointAuthMethod,
						c.CreatedAt.UTC().Format("2006-01-02 15:04")})
				}
				_, err = fmt.Fprintln(f.IO.Out, f.IO.Table([]string{"CLIENT ID", "NAME", "REDIRECT URIS", "AUTH", "REGISTERED"}, rows))
				return err
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmdutil.Flag(list.Flags(), "store", config.KeyAuthStore)
	del := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client and revoke everything it holds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, st store.Store, _ *viper.Viper, _ string) error {
				err := st.DeleteClient(ctx, args[0], time.Now())
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no client %s is registered", args[0])
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(f.IO.Out, "✓ deleted client %s and revoked its tokens\n", args[0])
				return err
			})
		},
	}
	cmdutil.Flag(del.Flags(), "store", config.KeyAuthStore)
	cmd.AddCommand(list, del)
	return cmd
}
