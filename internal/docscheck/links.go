package docscheck

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Files reads the Markdown files under root that the checks cover: the
// given names (relative to root) and every *.md in the given folders.
// A named file that is missing is an error; the folders may hold none.
func Files(root string, names, dirs []string) ([]*Doc, error) {
	for _, dir := range dirs {
		found, err := filepath.Glob(filepath.Join(root, dir, "*.md"))
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			rel, _ := filepath.Rel(root, f)
			names = append(names, rel)
		}
	}
	var docs []*Doc
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return nil, err
		}
		docs = append(docs, Parse(filepath.ToSlash(name), string(b)))
	}
	return docs, nil
}

// CheckLinks reports every relative link in docs that names no file
// under root, or a #fragment that names no heading of its Markdown file.
// Links with a scheme (https:, mailto:) are left alone: they are not the
// tree's to keep.
func CheckLinks(root string, docs []*Doc) []string {
	parsed := map[string]*Doc{}
	for _, d := range docs {
		parsed[d.Path] = d
	}
	var problems []string
	for _, d := range docs {
		for _, l := range d.Links {
			if err := checkLink(root, d, l.Target, parsed); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: link %s: %v", d.Path, l.Line, l.Target, err))
			}
		}
	}
	return problems
}

func checkLink(root string, from *Doc, target string, parsed map[string]*Doc) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "" || u.Host != "" {
		return nil
	}
	if strings.HasPrefix(u.Path, "/") {
		return fmt.Errorf("an absolute path: write it relative to %s", from.Path)
	}
	to := from
	if u.Path != "" {
		rel := filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(from.Path), u.Path)))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("leaves the repository")
		}
		info, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			return fmt.Errorf("no such file %s", rel)
		}
		if u.Fragment == "" {
			return nil
		}
		if info.IsDir() || !strings.HasSuffix(rel, ".md") {
			return fmt.Errorf("a #fragment on %s, which is not a Markdown file", rel)
		}
		if to = parsed[rel]; to == nil {
			b, err := os.ReadFile(filepath.Join(root, rel))
			if err != nil {
				return err
			}
			to = Parse(rel, string(b))
		}
	}
	if u.Fragment != "" && !to.Anchors[u.Fragment] {
		return fmt.Errorf("%s has no heading with the anchor #%s", to.Path, u.Fragment)
	}
	return nil
}
