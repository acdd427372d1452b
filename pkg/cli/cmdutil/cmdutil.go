// Package cmdutil holds what every tmcp command shares: the Factory (IO
// and settings), flag-to-setting binding, logging, and the errors that
// decide the exit code.
package cmdutil

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/httpx"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// Factory is handed to every command constructor.
type Factory struct {
	IO *ui.IO
}

// ExitError ends the process with Code after printing Err (if any).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ErrSilent ends the process with status 1 without printing more: the
// command already explained the failure.
var ErrSilent = errors.New("silent failure")

// NotYet is the error of a command whose implementation is still to come.
func NotYet(what string) error {
	return &ExitError{Code: 2, Err: fmt.Errorf("%s is not available in this version of tmcp yet", what)}
}

// Settings builds this run's viper: defaults, environment, the config file
// (--config) and the command's flags, bound by name to setting keys.
func Settings(cmd *cobra.Command, flags map[string]string) (*viper.Viper, error) {
	configFile, _ := cmd.Flags().GetString("config")
	v, err := config.New(configFile)
	if err != nil {
		return nil, err
	}
	bind := map[string]string{"log-level": config.KeyLogLevel, "state-dir": config.KeyStateDir}
	for name, key := range flags {
		bind[name] = key
	}
	for name, key := range bind {
		fl := cmd.Flags().Lookup(name)
		if fl == nil {
			return nil, fmt.Errorf("internal: no flag --%s", name)
		}
		if err := v.BindPFlag(key, fl); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Logger returns a text logger on stderr at the configured level.
func (f *Factory) Logger(v *viper.Viper) (*slog.Logger, error) {
	level, err := config.LogLevel(v)
	if err != nil {
		return nil, err
	}
	return slog.New(httpx.ContextHandler{Handler: slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: level})}), nil
}

// Flag registers a string flag whose help and default come from the setting.
func Flag(fs *pflag.FlagSet, name, key string) {
	fs.String(name, fmt.Sprint(config.Default(key)), config.Help(key))
}

// IntFlag registers an int flag whose help and default come from the setting.
func IntFlag(fs *pflag.FlagSet, name, key string) {
	def, _ := config.Default(key).(int)
	fs.Int(name, def, config.Help(key))
}
