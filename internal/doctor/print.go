package doctor

import (
	"fmt"
	"io"

	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Print writes the report as one line per check, with the fix under each
// failure.
func Print(w io.Writer, st ui.Styles, r *Report) {
	failed := 0
	for _, c := range r.Checks {
		mark := st.OK.Render("✓")
		if !c.OK {
			mark = st.Fail.Render("✗")
			failed++
		}
		fmt.Fprintln(w, st.Wrap(fmt.Sprintf("%s %-15s %s", mark, c.Name, c.Saw), 18))
		if !c.OK && c.Fix != "" {
			fmt.Fprintln(w, st.Wrap(fmt.Sprintf("  %s %s", st.Key.Render("fix:"), c.Fix), 7))
		}
	}
	fmt.Fprintln(w)
	if failed == 0 {
		fmt.Fprintf(w, "%s all %d checks pass\n", st.OK.Render("✓"), len(r.Checks))
	} else {
		fmt.Fprintf(w, "%s %d of %d checks failed\n", st.Fail.Render("✗"), failed, len(r.Checks))
	}
}
