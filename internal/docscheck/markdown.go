// Package docscheck keeps tmcp's Markdown documentation true to the tree:
// every relative link reaches a file (and a heading, when it names one),
// and every tmcp command shown in a code block names real commands and
// flags. Its test runs over README.md, CONTRIBUTING.md, SECURITY.md and
// docs/ with go test ./..., so a renamed heading, moved page or removed
// flag fails CI rather than misleading a reader.
package docscheck

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Doc is one Markdown file, split into what the checks read.
type Doc struct {
	Path    string  // as given, for messages
	Links   []Link  // links outside code, in order
	Anchors anchors // GitHub's anchors for its headings and HTML ids
	Code    []Line  // lines of fenced code blocks, continuations joined
}

// Link is one link target and where it was written.
type Link struct {
	Line   int
	Target string
}

// Line is a line of a fenced code block (or several joined by a trailing
// backslash) and the line it starts on. Shell says whether the block is
// shell: it names no language, or sh, bash, shell, console or zsh; output
// is marked text.
type Line struct {
	Line  int
	Text  string
	Shell bool
}

// shells are the info strings of fenced blocks read as shell.
var shells = map[string]bool{"": true, "sh": true, "bash": true, "shell": true, "console": true, "zsh": true}

type anchors map[string]bool

var (
	fenceRE   = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	// [text](target) and ![alt](target), with an optional "title"; the
	// target may be in angle brackets.
	inlineLinkRE = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)`)
	refDefRE     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	htmlIDRE     = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
)

// Parse reads a Markdown file's links, headings and code blocks.
func Parse(path, text string) *Doc {
	d := &Doc{Path: path, Anchors: anchors{}}
	slugs := map[string]int{}
	var fence string // the open fence's marker, "" outside code
	shell := false   // whether the open block is shell
	var pending *Line
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case fence == "":
				fence = m[1]
				info, _, _ := strings.Cut(strings.TrimSpace(line[strings.Index(line, m[1])+len(m[1]):]), " ")
				shell = shells[strings.ToLower(info)]
				continue
			case m[1][0] == fence[0] && len(m[1]) >= len(fence) && strings.TrimSpace(line[strings.Index(line, m[1])+len(m[1]):]) == "":
				fence = ""
				if pending != nil {
					d.Code = append(d.Code, *pending)
					pending = nil
				}
				continue
			}
		}
		if fence != "" {
			// A trailing backslash continues a shell line.
			if pending == nil {
				pending = &Line{Line: n, Shell: shell}
			} else {
				pending.Text += " "
			}
			pending.Text += strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(line, " \t"), `\`))
			if !strings.HasSuffix(strings.TrimRight(line, " \t"), `\`) {
				d.Code = append(d.Code, *pending)
				pending = nil
			}
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			slug := Slug(m[2])
			if k := slugs[slug]; k > 0 {
				d.Anchors[fmt.Sprintf("%s-%d", slug, k)] = true
			} else {
				d.Anchors[slug] = true
			}
			slugs[slug]++
		}
		for _, m := range htmlIDRE.FindAllStringSubmatch(line, -1) {
			d.Anchors[m[1]] = true
		}
		prose := stripCodeSpans(line)
		if m := refDefRE.FindStringSubmatch(prose); m != nil {
			d.Links = append(d.Links, Link{Line: n, Target: strings.Trim(m[1], "<>")})
			continue
		}
		for _, m := range inlineLinkRE.FindAllStringSubmatch(prose, -1) {
			d.Links = append(d.Links, Link{Line: n, Target: strings.Trim(m[1], "<>")})
		}
	}
	if pending != nil {
		d.Code = append(d.Code, *pending)
	}
	return d
}

var (
	linkTextRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTagRE  = regexp.MustCompile(`<[^>]+>|&#?[0-9A-Za-z]+;`)
)

// Slug is the anchor GitHub gives a heading: its text as rendered (no
// code, emphasis or link markup, no HTML), in lower case, keeping only
// letters, marks, numbers, connector punctuation such as _, hyphens and
// spaces, each space made a hyphen.
func Slug(heading string) string {
	text := linkTextRE.ReplaceAllString(heading, "$1")
	text = htmlTagRE.ReplaceAllString(text, "")
	text = strings.NewReplacer("`", "", "*", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stripCodeSpans removes the code spans of a line: a run of backticks up
// to the next run of the same length. An unmatched run stays as text.
func stripCodeSpans(line string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(line, '`')
		if i < 0 {
			return b.String() + line
		}
		n := i
		for n < len(line) && line[n] == '`' {
			n++
		}
		run := line[i:n]
		end := -1
		for j := n; j < len(line); {
			k := strings.Index(line[j:], run)
			if k < 0 {
				break
			}
			k += j
			if k+len(run) == len(line) || line[k+len(run)] != '`' {
				if k == 0 || line[k-1] != '`' {
					end = k
					break
				}
			}
			j = k + len(run)
			for j < len(line) && line[j] == '`' {
				j++
			}
		}
		if end < 0 {
			b.WriteString(line[:n])
			line = line[n:]
			continue
		}
		b.WriteString(line[:i])
		line = line[end+len(run):]
	}
}
