package ui

import (
	"encoding/json"
	"fmt"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
)

// Output formats commands may print in.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// CheckFormat validates an --output value.
func CheckFormat(f string) error {
	if f != FormatText && f != FormatJSON {
		return fmt.Errorf("--output must be text or json, not %q", f)
	}
	return nil
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
