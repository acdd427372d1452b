package flow

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Step is one checked step of the flow.
type Step struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	// Warning marks a missing optional property: OK unless the run is
	// strict.
	Warning  bool          `json:"warning,omitempty"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
	Detail   string        `json:"detail,omitempty"`
	Error    string        `json:"error,omitempty"`
	Hint     string        `json:"hint,omitempty"`
}

// Report is the whole run.
type Report struct {
	Server string  `json:"server"`
	OK     bool    `json:"ok"`
	Strict bool    `json:"strict,omitempty"` // warnings fail
	Steps  []*Step `json:"steps"`
	Millis int64   `json:"duration_ms"`
}

// Failed returns the first failed step (or, when strict, the first
// warning), or nil.
func (r *Report) Failed() *Step {
	for _, s := range r.Steps {
		if !s.OK && !s.Skipped || r.Strict && s.Warning {
			return s
		}
	}
	return nil
}

// Warnings counts the steps that warned.
func (r *Report) Warnings() int {
	n := 0
	for _, s := range r.Steps {
		if s.Warning {
			n++
		}
	}
	return n
}

// Step returns the step called name, or nil if it did not run.
func (r *Report) Step(name string) *Step {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// PrintStep writes one step as a line: mark, name, duration, fact.
func PrintStep(w io.Writer, st ui.Styles, s *Step) {
	mark := st.OK.Render("✓")
	switch {
	case s.Skipped:
		mark = st.Muted.Render("–")
	case s.Warning:
		mark = st.Warn.Render("⚠")
	case !s.OK:
		mark = st.Fail.Render("✗")
	}
	dur := fmt.Sprintf("%6s", ui.Duration(s.Duration))
	line := fmt.Sprintf("%s %-14s %s  %s", mark, s.Name, st.Muted.Render(dur), s.Detail)
	fmt.Fprintln(w, st.Wrap(strings.TrimRight(line, " "), 25))
	if !s.OK && !s.Skipped {
		fmt.Fprintln(w, st.Wrap(fmt.Sprintf("  %s %s", st.Fail.Render("error:"), s.Error), 9))
	}
	if (!s.OK || s.Warning) && s.Hint != "" {
		fmt.Fprintln(w, st.Wrap(fmt.Sprintf("  %s %s", st.Key.Render("fix:"), s.Hint), 7))
	}
}
