package testkit

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// SignInAs plays the person at the browser for a sign-in that ends at a
// real callback listener (tmcp flow test's): it follows every redirect,
// logs in as the demo user, and approves each consent page. It returns
// when a page without a form is reached, or with an error.
func SignInAs(authURL string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(u string) (*Page, error) { return fetch(c, http.MethodGet, u, nil) }
	p, err := get(authURL)
	for step := 0; err == nil && step < 6; step++ {
		if p.Status != http.StatusOK {
			return fmt.Errorf("sign-in stopped at %s with HTTP %d: %.200s", p.URL, p.Status, p.Body)
		}
		id, fields := "approve", map[string]string(nil)
		if strings.HasSuffix(p.URL.Path, "/login") {
			id, fields = "login", map[string]string{"email": DemoEmail, "password": DemoPassword}
		}
		f, ferr := p.FindForm(id)
		if ferr != nil {
			return nil // no form: the callback page
		}
		for k, v := range fields {
			f.Values.Set(k, v)
		}
		target, perr := p.URL.Parse(f.Action)
		if perr != nil {
			return perr
		}
		p, err = fetch(c, http.MethodPost, target.String(), f.Values)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("sign-in did not finish; last page %s", p.URL)
}

func fetch(c *http.Client, method, u string, form url.Values) (*Page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Page{URL: resp.Request.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// SignInURL is SignInAs for a flow whose client listens nowhere: it stops
// at the redirect to redirectURI and returns it.
func SignInURL(authURL, redirectURI string) (*url.URL, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	p, err := fetch(c, http.MethodGet, authURL, nil)
	for step := 0; err == nil && step < 6 && p.Status == http.StatusOK; step++ {
		id, fields := "approve", map[string]string(nil)
		if strings.HasSuffix(p.URL.Path, "/login") {
			id, fields = "login", map[string]string{"email": DemoEmail, "password": DemoPassword}
		}
		f, ferr := p.FindForm(id)
		if ferr != nil {
			return nil, ferr
		}
		for k, v := range fields {
			f.Values.Set(k, v)
		}
		target, perr := p.URL.Parse(f.Action)
		if perr != nil {
			return nil, perr
		}
		p, err = fetch(c, http.MethodPost, target.String(), f.Values)
	}
	if err != nil {
		return nil, err
	}
	if loc := p.Location(); loc != nil && strings.HasPrefix(loc.String(), redirectURI) {
		return loc, nil
	}
	return nil, fmt.Errorf("sign-in ended with HTTP %d at %s: %.120s", p.Status, p.URL.Path, pageText(p.Body))
}

// pageText is a page's text without tags and runs of space, for errors.
func pageText(html string) string {
	var b strings.Builder
	inTag := false
	for _, r := range html {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// SandboxSession logs in to the sandbox at sandboxURL as the demo user and
// returns the session cookie's value, as an operator copies it from the
// browser.
func SandboxSession(sandboxURL string) (string, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(sandboxURL+"/login", url.Values{"email": {DemoEmail}, "password": {DemoPassword}})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "session" {
			return ck.Value, nil
		}
	}
	return "", fmt.Errorf("login set no session cookie (status %d)", resp.StatusCode)
}
