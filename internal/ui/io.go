// Package ui decides once how tmcp talks to people: which streams, whether
// they are terminals, whether colour is wanted (NO_COLOR), and the lipgloss
// styles of its output. Nothing else writes to os.Stdout.
package ui

import (
	"bytes"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
	"github.com/muesli/termenv"
	"golang.org/x/term"
)

// IO is the process's streams and their capabilities.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY  bool
	errTTY  bool
	noColor bool
	// width is the terminal's columns (0: not a terminal, no limit).
	width int
}

// System is the real terminal.
func System() *IO {
	_, noColor := os.LookupEnv("NO_COLOR")
	io := &IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		outTTY: isatty.IsTerminal(os.Stdout.Fd()), errTTY: isatty.IsTerminal(os.Stderr.Fd()), noColor: noColor}
	if io.outTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			io.width = w
		}
	}
	return io
}

// TestTerminal is Test as if stdout were a terminal of width columns.
func TestTerminal(width int) (*IO, *bytes.Buffer, *bytes.Buffer) {
	io, out, errOut := Test()
	io.outTTY, io.noColor, io.width = true, false, width
	return io, out, errOut
}

// Width is the terminal's width in columns, or 0 when stdout is no
// terminal.
func (i *IO) Width() int { return i.width }

// Test returns an IO on buffers, never a terminal.
func Test() (*IO, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IO{In: &bytes.Buffer{}, Out: out, ErrOut: errOut, noColor: true}, out, errOut
}

// IsTerminal reports whether stdout is a terminal.
func (i *IO) IsTerminal() bool { return i.outTTY }

// ErrIsTerminal reports whether stderr (the log) is a terminal.
func (i *IO) ErrIsTerminal() bool { return i.errTTY }

// Styles returns the styles for stdout: coloured on a terminal, plain when
// piped or when NO_COLOR is set.
func (i *IO) Styles() Styles {
	r := lipgloss.NewRenderer(i.Out)
	if !i.outTTY || i.noColor {
		r.SetColorProfile(termenv.Ascii) // no escape codes at all
	}
	st := newStyles(r)
	st.Width = i.width
	return st
}

// Styles are the few looks tmcp's output uses.
type Styles struct {
	Title, OK, Warn, Fail, Muted, Key, Box lipgloss.Style
	// Width is the terminal's width (0: no terminal, lines are not
	// wrapped).
	Width int
}

// Wrap breaks line at spaces to fit st.Width, continuing indented by
// indent columns, so a long verdict wraps between words, not inside
// one. Without a terminal the line stays whole (scripts read it).
func (st Styles) Wrap(line string, indent int) string {
	if st.Width <= indent+20 || lipgloss.Width(line) <= st.Width {
		return line
	}
	var b strings.Builder
	col := 0
	for i, word := range strings.Split(line, " ") {
		w := lipgloss.Width(word)
		if i > 0 {
			if col+1+w > st.Width && col > indent {
				b.WriteString("\n" + strings.Repeat(" ", indent))
				col = indent
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(word)
		col += w
	}
	return b.String()
}

func newStyles(r *lipgloss.Renderer) Styles {
	return Styles{
		Title: r.NewStyle().Bold(true),
		OK:    r.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:  r.NewStyle().Foreground(lipgloss.Color("3")),
		Fail:  r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		Muted: r.NewStyle().Foreground(lipgloss.Color("8")),
		Key:   r.NewStyle().Foreground(lipgloss.Color("4")).Bold(true),
		Box:   r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
	}
}
