package main

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// htmlForm is a form of a page as a browser would submit it.
type htmlForm struct {
	action string
	values url.Values
	fields map[string]bool // every input's name
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<(?:input|button)\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)\b(name|value|action|type)="([^"]*)"`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// findForm returns the first form of body with an input named one of
// names, with its action resolved against base.
func findForm(body string, base *url.URL, names ...string) (htmlForm, bool) {
	for _, fm := range formRe.FindAllStringSubmatch(body, -1) {
		f := htmlForm{values: url.Values{}, fields: map[string]bool{}}
		for _, in := range inputRe.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(in[1])
			if a["name"] == "" {
				continue
			}
			f.fields[a["name"]] = true
			if a["type"] != "submit" {
				f.values.Set(a["name"], a["value"])
			}
		}
		for _, n := range names {
			if f.fields[n] {
				action, err := base.Parse(attrs(fm[1])["action"])
				if err != nil {
					return htmlForm{}, false
				}
				f.action = action.String()
				return f, true
			}
		}
	}
	return htmlForm{}, false
}

// fetch does a request through c (following redirects) and returns the
// final response, with its body read.
func fetch(t testing.TB, c *http.Client, method, target string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return r, string(b)
}

// signIn goes to start the way a browser does, and when it lands on the
// gate's pages, fills in the name and password, then the code, in
// whatever forms the gate shows. It returns the last page.
func signIn(t testing.TB, c *http.Client, start, name, password, code string) (*http.Response, string) {
	t.Helper()
	r, body := fetch(t, c, "GET", start, nil, nil)
	for range 4 {
		if r.Request.URL.Host != authHost {
			break
		}
		f, ok := findForm(body, r.Request.URL, "password", "code")
		if !ok {
			break
		}
		if f.fields["password"] {
			f.values.Set("username", name)
			f.values.Set("password", password)
		}
		if f.fields["code"] {
			f.values.Set("code", code)
		}
		r, body = fetch(t, c, "POST", f.action, f.values, nil)
		if f.fields["code"] {
			// One attempt at the code: a refusal shows the form again.
			break
		}
	}
	return r, body
}

// signOut opens the gate's sign-out page with rd and presses its button.
func signOut(t testing.TB, c *http.Client, rd string) (*http.Response, string) {
	t.Helper()
	r, body := fetch(t, c, "GET", "https://"+authHost+"/logout?rd="+url.QueryEscape(rd), nil, nil)
	if r.StatusCode != 200 {
		t.Fatalf("sign-out page: %s", describe(r))
	}
	var f htmlForm
	for _, fm := range formRe.FindAllStringSubmatch(body, -1) {
		if a, err := r.Request.URL.Parse(attrs(fm[1])["action"]); err == nil && a.Path == "/logout" {
			f = htmlForm{action: a.String(), values: url.Values{}}
			for _, in := range inputRe.FindAllStringSubmatch(fm[2], -1) {
				if a := attrs(in[1]); a["name"] != "" && a["type"] != "submit" {
					f.values.Set(a["name"], a["value"])
				}
			}
			break
		}
	}
	if f.action == "" {
		t.Fatalf("sign-out page without a form posting to /logout:\n%s", body)
	}
	return fetch(t, c, "POST", f.action, f.values, nil)
}
