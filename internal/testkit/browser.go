package testkit

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Browser is an HTTP client with cookies that follows redirects until it
// reaches a URL with the prefix StopAt (an MCP client's redirect URI).
type Browser struct {
	Client *http.Client
	StopAt string
	t      testing.TB
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB, stopAt string) *Browser {
	jar, _ := cookiejar.New(nil)
	b := &Browser{StopAt: stopAt, t: t}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if b.StopAt != "" && strings.HasPrefix(req.URL.String(), b.StopAt) {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
	return b
}

// Page is a fetched response with its body read.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

// Location is the redirect target of a page the browser stopped at.
func (p *Page) Location() *url.URL {
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil {
		return nil
	}
	return p.URL.ResolveReference(loc)
}

func (b *Browser) do(req *http.Request) *Page {
	b.t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &Page{URL: resp.Request.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// Get fetches u.
func (b *Browser) Get(u string) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// Form is an HTML form found on a page.
type Form struct {
	Action string
	Method string
	Values url.Values
}

// FindForm returns the form holding the element with id, with its inputs'
// values and, if that element is a submit button, its name=value.
func (p *Page) FindForm(id string) (*Form, error) {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil, err
	}
	var found *Form
	var walk func(n *html.Node, form *Form)
	walk = func(n *html.Node, form *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				form = &Form{Action: attr(n, "action"), Method: strings.ToUpper(attr(n, "method")), Values: url.Values{}}
			case "input":
				if form != nil && attr(n, "name") != "" && attr(n, "type") != "submit" {
					form.Values.Add(attr(n, "name"), attr(n, "value"))
				}
			}
			if form != nil && attr(n, "id") == id {
				found = form
				if n.Data == "button" && attr(n, "name") != "" {
					defer form.Values.Set(attr(n, "name"), attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, form)
		}
	}
	walk(doc, nil)
	if found == nil {
		return nil, fmt.Errorf("no form with element #%s on %s (status %d)", id, p.URL, p.Status)
	}
	return found, nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// Submit submits the form around element id on page p, with fields
// overriding its inputs.
func (b *Browser) Submit(p *Page, id string, fields map[string]string) *Page {
	b.t.Helper()
	f, err := p.FindForm(id)
	if err != nil {
		b.t.Fatalf("%v\n%s", err, p.Body)
	}
	for k, v := range fields {
		f.Values.Set(k, v)
	}
	return b.Post(p.URL, f.Action, f.Values)
}

// Post posts values as a form to action, resolved against base.
func (b *Browser) Post(base *url.URL, action string, values url.Values) *Page {
	b.t.Helper()
	target, err := base.Parse(action)
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(values.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}
