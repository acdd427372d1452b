// Package web renders tmcp's few HTML pages (login, consent, errors) from
// html/template and one shared stylesheet, with the security headers every
// page needs. The pages need no JavaScript.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// Page is what every template receives; Data holds the page's own values.
type Page struct {
	Brand       string
	Title       string
	Message     string
	Detail      string
	AssetPrefix string
	Data        any
}

// Pages holds one template set per page, each the shared layout plus the
// page's own "title" and "content"; "error" is always there.
type Pages map[string]*template.Template

// ParsePages parses every file matching glob in fsys as a page named after
// the file without its extension.
func ParsePages(fsys fs.FS, glob string) Pages {
	layout := template.Must(template.New("").Funcs(template.FuncMap{"breakable": Breakable}).ParseFS(assets, "assets/layout.html"))
	pages := Pages{"error": layout}
	notice := template.Must(template.Must(layout.Clone()).ParseFS(assets, "assets/notice.html"))
	pages["notice"] = notice
	if fsys == nil {
		return pages
	}
	files, err := fs.Glob(fsys, glob)
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		t := template.Must(template.Must(layout.Clone()).ParseFS(fsys, f))
		pages[strings.TrimSuffix(path.Base(f), path.Ext(f))] = t
	}
	return pages
}

// Render writes the named page with status, or a plain 500 if the
// template fails (rendered into a buffer first, so no half page leaks).
func (ps Pages) Render(w http.ResponseWriter, name string, status int, p Page) {
	var buf bytes.Buffer
	t, ok := ps[name]
	if !ok {
		slog.Error("render page: no such page", "page", name)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		slog.Error("render page", "page", name, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	SecureHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// SecureHeaders sets the headers of every HTML page: no framing
// (clickjacking of consent), no scripts, no caching of pages that hold
// CSRF tokens, no referrer carrying codes.
func SecureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// Assets serves the stylesheet under /assets/.
func Assets() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	return http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "style.css" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
}

// Breakable escapes a URL or identifier for HTML and lets a narrow screen
// break it after / ? & = and before its other punctuation, rather than in
// the middle of a word or not at all.
func Breakable(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if strings.ContainsRune("/?&=#", r) {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String()) //nolint:gosec // every rune was escaped above
}
