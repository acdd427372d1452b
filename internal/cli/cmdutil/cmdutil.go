// Package cmdutil holds what every tmcp command shares: the Factory (IO
// and settings), flags declared once with their setting, logging, and the
// errors that decide the exit code.
package cmdutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/gcpolicy"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/telemetry"
	"github.com/tmcp-dev/tmcp/internal/ui"
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

// FlagError is a usage error: a wrong flag, argument or command. It ends
// the process with status 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// UsageErrorf makes a FlagError.
func UsageErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrSilent ends the process with status 1 without printing more: the
// command already explained the failure.
var ErrSilent = errors.New("silent failure")

// settingAnnotation ties a flag to the setting key it sets.
const settingAnnotation = "tmcp_setting"

// Flags declares the flag of each setting key, under the name the
// settings table gives it.
func Flags(fs *pflag.FlagSet, keys ...string) {
	for _, key := range keys {
		FlagAs(fs, config.Lookup(key).Flag, key)
	}
}

// FlagAs declares the flag name for the setting key: its type, default
// and help come from the setting, the help names its environment
// variable, and Settings binds it. This is the only place a setting's
// flag is made.
func FlagAs(fs *pflag.FlagSet, name, key string) {
	s := config.Lookup(key)
	help := fmt.Sprintf("%s [env: %s]", s.Help, s.Env()[0])
	switch def := s.Default.(type) {
	case int:
		fs.Int(name, def, help)
	case bool:
		fs.Bool(name, def, help)
	case []string:
		fs.StringSlice(name, def, help)
	default:
		fs.String(name, fmt.Sprint(def), help)
	}
	if err := fs.SetAnnotation(name, settingAnnotation, []string{key}); err != nil {
		panic(err)
	}
	if file := config.FileOf(key); file != "" {
		FlagAs(fs, name+"-file", file)
	}
}

// SuggestFlag adds the nearest flag of cmd to an "unknown flag" error: a
// typo gets its fix.
func SuggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	best, bestD := "", 4
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if d := config.EditDistance(name, fl.Name); d < bestD || d == bestD && fl.Name < best {
			best, bestD = fl.Name, d
		}
	})
	if best == "" {
		return err
	}
	return fmt.Errorf("%w (did you mean --%s?)", err, best)
}

// SettingOf is the setting key fl was declared for with FlagAs, or "".
func SettingOf(fl *pflag.Flag) string { return firstOf(fl.Annotations[settingAnnotation]) }

// Settings builds this run's viper: defaults, environment, the config file
// (--config) and every flag of cmd declared with Flag.
func Settings(cmd *cobra.Command) (*viper.Viper, error) {
	configFile, _ := cmd.Flags().GetString("config")
	v, err := config.New(configFile)
	if err != nil {
		return nil, err
	}
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if keys := fl.Annotations[settingAnnotation]; len(keys) == 1 && err == nil {
			err = v.BindPFlag(keys[0], fl)
		}
	})
	if err == nil {
		err = config.CheckBools(v)
	}
	if err != nil {
		return nil, err
	}
	return v, config.ReadSecretFiles(v)
}

// Logger returns a logger on stderr at the configured level and format:
// JSON lines (for a log collector) unless stderr is a terminal or
// --log-format says text. Lines of a request carry its request and
// trace ids; repeated warnings and errors are summed up (httpx.Summarize).
func (f *Factory) Logger(v *viper.Viper) (*slog.Logger, error) {
	level, err := config.LogLevel(v)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format := v.GetString(config.KeyLogFormat); {
	case format == "json", format == "" && !f.IO.ErrIsTerminal():
		h = slog.NewJSONHandler(f.IO.ErrOut, opts)
	case format == "text", format == "":
		h = slog.NewTextHandler(f.IO.ErrOut, opts)
	default:
		return nil, fmt.Errorf("%s: %q is not json or text", config.Lookup(config.KeyLogFormat).Name(), format)
	}
	return slog.New(httpx.Summarize(httpx.ContextHandler{Handler: h}, httpx.SummaryInterval)), nil
}

// Tracing installs the OpenTelemetry exporter the OTEL_* environment
// variables configure (none when they set none) and returns what flushes
// it at exit.
func Tracing(ctx context.Context, version string, log *slog.Logger) (func(), error) {
	shutdown, err := telemetry.Setup(ctx, version, log)
	if err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn("flushing traces failed", "err", err)
		}
	}, nil
}

// CollectGarbage applies the servers' garbage collection policy
// (GOGC=400 and a soft limit under the cgroup's memory unless GOGC and
// GOMEMLIMIT say otherwise; see gcpolicy) and logs it.
func CollectGarbage(log *slog.Logger) {
	log.Debug("garbage collection", "policy", gcpolicy.Apply(os.Getenv, "/").String())
}

// NoArgs refuses positional arguments as a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UsageErrorf("unexpected argument %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// CommandAfterDash takes positional arguments only after "--": a program
// and its arguments, run by the command.
func CommandAfterDash(cmd *cobra.Command, args []string) error {
	if len(args) > 0 && cmd.ArgsLenAtDash() != 0 {
		return UsageErrorf("unexpected argument %q for %q (put a program to run after --, as in %s -- COMMAND ARGS)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// ExactArgs wants exactly n positional arguments, named by the command's
// Use line.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageErrorf("%q takes %d argument(s), got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())
		}
		return nil
	}
}

// Group makes a command that only holds sub-commands: alone it prints its
// help; with an unknown sub-command it is a usage error.
func Group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	GroupOf(cmd, subs...)
	return cmd
}

// GroupOf gives cmd the behaviour of Group.
func GroupOf(cmd *cobra.Command, subs ...*cobra.Command) {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return &FlagError{Err: errors.New(msg)}
	}
	cmd.AddCommand(subs...)
}

// Fill turns a command's settings and arguments into its Options.
type Fill func(cmd *cobra.Command, v *viper.Viper, args []string) error

// New completes cmd as a tmcp command: positional arguments are refused
// unless cmd.Args says otherwise, and RunE reads the settings, lets fill
// turn them into opts, then runs runF when a test gave one (to check how
// flags become Options), else run.
func New[O any](cmd *cobra.Command, opts *O, fill Fill, runF, run func(context.Context, *O) error) *cobra.Command {
	if cmd.Args == nil {
		cmd.Args = NoArgs
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		v, err := Settings(cmd)
		if err != nil {
			return err
		}
		if fill != nil {
			if err := fill(cmd, v, args); err != nil {
				return err
			}
		}
		if runF != nil {
			return runF(cmd.Context(), opts)
		}
		return run(cmd.Context(), opts)
	}
	return cmd
}

// ReadLine reads one line from r (a secret piped in with "-"), without
// its line ending.
func ReadLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// Source says where a setting's value came from, for doctor and flow
// test to print: the flag, an environment variable, the config file, or
// the default.
func Source(cmd *cobra.Command, v *viper.Viper, key string) string {
	found := ""
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if keys := fl.Annotations[settingAnnotation]; len(keys) == 1 && keys[0] == key && fl.Changed {
			found = "--" + fl.Name
		}
	})
	if found != "" {
		return found
	}
	for _, env := range config.Lookup(key).Env() {
		if val, ok := os.LookupEnv(env); ok && val != "" {
			return "env " + env
		}
	}
	if v.InConfig(key) {
		return "config file"
	}
	return "default"
}

// CompleteChoices makes shells complete every flag in cmd's tree whose
// setting takes one of a few values, and -o/--output.
func CompleteChoices(cmd *cobra.Command) {
	complete := func(fl *pflag.Flag) {
		values := config.Choices(firstOf(fl.Annotations[settingAnnotation]))
		if fl.Name == "output" {
			values = []string{ui.FormatText, ui.FormatJSON}
		}
		if len(values) == 0 {
			return
		}
		_ = cmd.RegisterFlagCompletionFunc(fl.Name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	cmd.LocalNonPersistentFlags().VisitAll(complete)
	cmd.PersistentFlags().VisitAll(complete)
	for _, c := range cmd.Commands() {
		CompleteChoices(c)
	}
}

func firstOf(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}
