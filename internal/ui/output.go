package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/spf13/pflag"
)

// Output formats commands may print in.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// format is the value of --output: only text or json parse.
type format struct{ dst *string }

func (f format) String() string { return *f.dst }
func (f format) Type() string   { return "format" }
func (f format) Set(v string) error {
	if v != FormatText && v != FormatJSON {
		return fmt.Errorf("must be text or json")
	}
	*f.dst = v
	return nil
}

// OutputFlag declares -o/--output (text or json, completed in shells) and
// stores its value in dst.
func OutputFlag(fs *pflag.FlagSet, dst *string) {
	*dst = FormatText
	fs.VarP(format{dst}, "output", "o", "output format: text or json")
}

// PrintJSON writes v as indented JSON to stdout.
func (i *IO) PrintJSON(v any) error {
	enc := json.NewEncoder(i.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Table renders rows under headers, with borders on a terminal and plain
// aligned columns otherwise.
func (i *IO) Table(headers []string, rows [][]string) string {
	st := i.Styles()
	t := table.New().Headers(headers...).Rows(rows...)
	if i.width > 0 {
		// Fit the terminal: lipgloss wraps the widest columns.
		t = t.Width(i.width)
	}
	if i.outTTY && !i.noColor {
		return t.Border(lipgloss.RoundedBorder()).BorderStyle(st.Muted).
			StyleFunc(func(row, col int) lipgloss.Style {
				if row == table.HeaderRow {
					return st.Title.Padding(0, 1)
				}
				return lipgloss.NewStyle().Padding(0, 1)
			}).Render()
	}
	return t.Border(lipgloss.HiddenBorder()).BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderHeader(false).BorderColumn(false).
		StyleFunc(func(row, col int) lipgloss.Style { return lipgloss.NewStyle().PaddingRight(2) }).Render()
}

// Duration is how every command shows a duration: "<1ms", "254ms" below
// ten seconds, else "12.3s", "5m", "1m30s", "2h".
func Duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
