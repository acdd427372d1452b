package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestPages_EachPageKeepsItsOwnContentAndHeaders(t *testing.T) {
	fsys := fstest.MapFS{
		"p/a.html": {Data: []byte(`{{define "title"}}A{{end}}{{define "content"}}page a {{.Data}}{{end}}`)},
		"p/b.html": {Data: []byte(`{{define "title"}}B{{end}}{{define "content"}}page b{{end}}`)},
	}
	pages := ParsePages(fsys, "p/*.html")
	rec := httptest.NewRecorder()
	pages.Render(rec, "a", 200, Page{Data: "<script>"})
	body := rec.Body.String()
	if !strings.Contains(body, "page a &lt;script&gt;") || strings.Contains(body, "page b") {
		t.Fatalf("page a body = %q", body)
	}
	if got := rec.Header().Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Fatalf("CSP = %q", got)
	}
	rec = httptest.NewRecorder()
	pages.Render(rec, "error", 400, Page{Title: "Bad", Message: "broken"})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "broken") {
		t.Fatalf("error page = %d %q", rec.Code, rec.Body.String())
	}
}

func TestBreakable_EscapesAndBreaksAfterSeparators(t *testing.T) {
	got := string(Breakable(`https://app.example/cb?x=<script>&y=1`))
	want := `https:/<wbr>/<wbr>app.example/<wbr>cb?<wbr>x=<wbr>&lt;script&gt;&amp;<wbr>y=<wbr>1`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
