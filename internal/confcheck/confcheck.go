// Package confcheck collects a server configuration's problems, every one
// at once, each naming the Config field it is about: the program that
// filled the field (the CLI, from a flag, an environment variable or a
// config file key) names it the way its user set it.
package confcheck

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with one field.
type Problem struct {
	Field   string // the Config field, like "Proxy"; "" for the whole
	Message string
}

func (p Problem) Error() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Problems are a configuration's problems, in the order found.
type Problems []Problem

// Add notes a problem with field.
func (ps *Problems) Add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Error is every problem, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Rename writes err's problems with names of their fields' own: name
// maps a field to how its user sets it. An err that is not Problems
// comes back as it was.
func Rename(err error, name func(field string) string) error {
	var ps Problems
	if !errors.As(err, &ps) {
		return err
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		if n := name(p.Field); n != "" {
			lines[i] = n + ": " + p.Message
		} else {
			lines[i] = p.Error()
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}
