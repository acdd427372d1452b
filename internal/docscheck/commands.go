package docscheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CheckCommands reports every tmcp command in docs' code blocks that
// names a command or flag root's tree does not have. In a shell block a
// command is a line, or one part of a pipeline or list (|, &&, ;, &), that
// after any VAR=value assignments starts with `tmcp` or
// `go run ./cmd/tmcp`; in any other block (output, YAML), a whole line
// that starts so.
func CheckCommands(root *cobra.Command, docs []*Doc) []string {
	var problems []string
	for _, d := range docs {
		for _, l := range d.Code {
			for _, args := range l.Commands() {
				if err := CheckArgs(root, args); err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: %s: %v", d.Path, l.Line, strings.Join(append([]string{"tmcp"}, args...), " "), err))
				}
			}
		}
	}
	return problems
}

// Commands returns the arguments of the tmcp commands on a code line: in
// a shell block those of Commands, else those of the line when it starts
// with `tmcp ` or `go run ./cmd/tmcp `.
func (l Line) Commands() [][]string {
	if l.Shell {
		return Commands(l.Text)
	}
	if !strings.HasPrefix(l.Text, "tmcp ") && !strings.HasPrefix(l.Text, "go run ./cmd/tmcp ") {
		return nil
	}
	if all := Commands(l.Text); len(all) > 0 {
		return all[:1]
	}
	return nil
}

// Commands returns the arguments after `tmcp` (or `go run ./cmd/tmcp`)
// of each tmcp command on a shell line.
func Commands(line string) [][]string {
	var out [][]string
	for _, words := range segments(line) {
		words = dropRedirections(words)
		for len(words) > 0 && isAssignment(words[0]) {
			words = words[1:]
		}
		switch {
		case len(words) >= 1 && words[0] == "tmcp":
			out = append(out, words[1:])
		case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/tmcp":
			out = append(out, words[3:])
		}
	}
	return out
}

// CheckArgs resolves args to a command of root's tree (give it the tree
// as it runs, with cobra's help and completion commands added) and checks
// each flag against that command's own and inherited flags, wherever it
// stands, as cobra parses them. Positional arguments are not judged (code
// blocks show placeholders and output), except that a command with
// subcommands takes only those.
func CheckArgs(root *cobra.Command, args []string) error {
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[:i] // what follows is another program's
	}
	// The command path: the words that are not flags or their values,
	// as long as the command reached has subcommands.
	cmd := root
	for i := 0; i < len(args); i++ {
		a := args[i]
		if isFlag(a) {
			if f := flagOf(cmd, a); !strings.Contains(a, "=") && (f == nil || f.NoOptDefVal == "") {
				i++ // its value (cobra assumes one for a flag it does not know)
			}
			continue
		}
		if !cmd.HasSubCommands() {
			break
		}
		sub := subcommand(cmd, a)
		if sub == nil {
			return fmt.Errorf("unknown command %q for %q", a, cmd.CommandPath())
		}
		cmd = sub
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !isFlag(a) {
			continue
		}
		f := flagOf(cmd, a)
		if f == nil {
			if strings.HasPrefix(a, "--") {
				name, _, _ := strings.Cut(a[2:], "=")
				return fmt.Errorf("unknown flag --%s for %q", name, cmd.CommandPath())
			}
			return fmt.Errorf("unknown shorthand flag in %s for %q", a, cmd.CommandPath())
		}
		if f.NoOptDefVal != "" || strings.Contains(a, "=") || !strings.HasPrefix(a, "--") && len(a) > 2 {
			continue // no value, or the value is in the word
		}
		if i+1 == len(args) || strings.HasPrefix(args[i+1], "--") {
			return fmt.Errorf("flag %s of %q needs a value", a, cmd.CommandPath())
		}
		i++
	}
	return nil
}

// isFlag reports whether a word is a flag: -x, -xyz or --name[=value],
// but not - (standard input) or a negative number.
func isFlag(word string) bool {
	return len(word) > 1 && word[0] == '-' && !isNumber(word[1:]) && word != "--"
}

// flagOf finds the flag a word names on cmd, as cobra would when parsing
// cmd's arguments. In shorthands grouped in one word (-abc) the first
// that takes a value ends the group (the rest of the word is its value)
// and is the one returned; before it, every letter must be a flag.
func flagOf(cmd *cobra.Command, word string) *pflag.Flag {
	if strings.HasPrefix(word, "--") {
		name, _, _ := strings.Cut(word[2:], "=")
		return lookup(cmd, name)
	}
	var f *pflag.Flag
	for _, r := range word[1:] {
		if f = lookupShorthand(cmd, string(r)); f == nil || f.NoOptDefVal == "" {
			return f // unknown, or it takes the rest of the word as its value
		}
	}
	return f
}

func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// lookup finds a flag as cobra would when parsing cmd's arguments: its
// own flags, then the persistent flags of it and every parent, then the
// help and version flags cobra adds itself.
func lookup(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	for c := cmd; c != nil; c = c.Parent() {
		if f := c.PersistentFlags().Lookup(name); f != nil {
			return f
		}
	}
	switch {
	case name == "help":
		return &pflag.Flag{Name: "help", NoOptDefVal: "true"}
	case name == "version" && !cmd.HasParent() && cmd.Version != "":
		return &pflag.Flag{Name: "version", NoOptDefVal: "true"}
	}
	return nil
}

func lookupShorthand(cmd *cobra.Command, s string) *pflag.Flag {
	if f := cmd.Flags().ShorthandLookup(s); f != nil {
		return f
	}
	for c := cmd; c != nil; c = c.Parent() {
		if f := c.PersistentFlags().ShorthandLookup(s); f != nil {
			return f
		}
	}
	if s == "h" {
		return &pflag.Flag{Name: "help", NoOptDefVal: "true"}
	}
	return nil
}

var redirectionRE = regexp.MustCompile(`^[0-9]*(?:>>?|<)(&[0-9-]+)?(.*)$`)

// dropRedirections removes redirections (2>&1, >file, > file) from a
// command's words.
func dropRedirections(words []string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		m := redirectionRE.FindStringSubmatch(words[i])
		if m == nil {
			out = append(out, words[i])
			continue
		}
		if m[1] == "" && m[2] == "" {
			i++ // the file is the next word
		}
	}
	return out
}

func isAssignment(word string) bool {
	name, _, ok := strings.Cut(word, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789.") == ""
}

// segments splits a shell line into the words of each simple command:
// quotes group, an unquoted # starting a word begins a comment, and
// |, ||, &, && and ; end a command. Quotes are removed; nothing is
// expanded.
func segments(line string) [][]string {
	var (
		out      [][]string
		words    []string
		word     strings.Builder
		inWord   bool
		quote    rune
		escaped  bool
		flushCmd = func() {
			if len(words) > 0 {
				out = append(out, words)
			}
			words = nil
		}
		flushWord = func() {
			if inWord {
				words = append(words, word.String())
			}
			word.Reset()
			inWord = false
		}
	)
	runes := []rune(line)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case escaped:
			word.WriteRune(r)
			escaped = false
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(runes) && strings.ContainsRune(`"\$`+"`", runes[i+1]) {
				escaped = true
			} else {
				word.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flushWord()
		case r == '#' && !inWord:
			flushWord()
			flushCmd()
			return out
		case r == '|' || r == ';' || r == '&':
			// 2>&1 and the like redirect; they end no command.
			if r == '&' && i > 0 && (runes[i-1] == '>' || runes[i-1] == '<') {
				word.WriteRune(r)
				continue
			}
			flushWord()
			flushCmd()
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	flushWord()
	flushCmd()
	return out
}
