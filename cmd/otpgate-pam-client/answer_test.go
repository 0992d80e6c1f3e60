package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     string
		status int
		body   string
		want   string // the answer line
	}{
		{"ok", "authenticate", 200, `{"result":"ok"}`, "ok\n"},
		{"no second factor", "authenticate", 200, `{"result":"no_second_factor"}`, "no_second_factor\n"},
		{"code required", "authenticate", 401, `{"result":"code_required","message":"A code is required."}`, "code_required A code is required.\n"},
		{"code wrong", "authenticate", 401, `{"result":"code_wrong","message":"Wrong code."}`, "code_wrong Wrong code.\n"},
		{"denied", "authenticate", 401, `{"result":"denied","message":"Account disabled."}`, "denied Account disabled.\n"},
		{"throttled", "authenticate", 429, `{"result":"throttled","retry_after":30,"message":"Slow down."}`, "throttled Slow down.\n"},
		{"throttled without message", "authenticate", 429, `{"result":"throttled","retry_after":30}`, "throttled too many attempts; try again in 30 s\n"},
		{"unknown host token 401", "authenticate", 401, `{"error":"unknown host token"}`, "unavailable server refused this host's token (status 401): unknown host token\n"},
		{"unknown host token 403", "authenticate", 403, `{"error":"forbidden"}`, "unavailable server refused this host's token (status 403): forbidden\n"},
		{"503", "authenticate", 503, `{"error":"database down"}`, "unavailable server unavailable (503): database down\n"},
		{"ok with status 401", "authenticate", 401, `{"result":"ok"}`, `unavailable unexpected answer: status 401, result "ok"` + "\n"},
		{"code wrong with status 200", "authenticate", 200, `{"result":"code_wrong"}`, `unavailable unexpected answer: status 200, result "code_wrong"` + "\n"},
		{"OK in capitals", "authenticate", 200, `{"result":"OK"}`, `unavailable unexpected answer: status 200, result "OK"` + "\n"},
		{"not JSON", "authenticate", 200, `ok`, "unavailable server answer (status 200) is not the protocol's JSON\n"},
		{"result a number", "authenticate", 200, `{"result":1}`, "unavailable server answer (status 200) is not the protocol's JSON\n"},
		{"HTML error page", "authenticate", 502, `<html>bad gateway</html>`, "unavailable server answer (status 502) is not the protocol's JSON\n"},
		{"redirect", "authenticate", 302, ``, "unavailable server answer (status 302) is not the protocol's JSON\n"},
		{"message with newline", "authenticate", 401, `{"result":"denied","message":"line\nforged ok"}`, "denied line forged ok\n"},
		{"account ok", "account", 200, `{"result":"ok"}`, "ok\n"},
		{"account denied", "account", 200, `{"result":"denied","message":"Disabled."}`, "denied Disabled.\n"},
		{"account no second factor", "account", 200, `{"result":"no_second_factor"}`, `unavailable unexpected account answer: status 200, result "no_second_factor"` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseAnswer(tc.op, tc.status, []byte(tc.body)).Line(); got != tc.want {
				t.Errorf("parseAnswer(%s, %d, %q) = %q, want %q", tc.op, tc.status, tc.body, got, tc.want)
			}
		})
	}
}

func TestAnswerLineBounded(t *testing.T) {
	long := answer{Result: resultDenied, Message: strings.Repeat("é", 1000)}.Line()
	if len(long) > len(resultDenied)+1+maxMessage+1 || !utf8.ValidString(long) {
		t.Errorf("long message: line of %d bytes (valid UTF-8 %v)", len(long), utf8.ValidString(long))
	}
}

// FuzzParseAnswer: any status and body give one well-formed line, and only
// a 200 with result "ok" (or no_second_factor) lets a user in.
func FuzzParseAnswer(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, status := range []int{200, 401, 403, 429, 503} {
			f.Add("authenticate", status, b)
		}
		f.Add("account", 200, b)
	}
	f.Fuzz(func(t *testing.T, op string, status int, body []byte) {
		if op != "account" {
			op = "authenticate"
		}
		a := parseAnswer(op, status, body)
		line := a.Line()
		if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 || strings.ContainsRune(line, 0) {
			t.Fatalf("parseAnswer(%d, %q) line %q is not one line", status, body, line)
		}
		if len(line) > 512 || !utf8.ValidString(line) {
			t.Fatalf("parseAnswer(%d, %q) line of %d bytes, valid UTF-8 %v", status, body, len(line), utf8.ValidString(line))
		}
		word, _, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if (word == resultOK || word == resultNoSecondFactor) && (status != 200 || line != word+"\n") {
			t.Fatalf("parseAnswer(%d, %q) = %q lets a user in", status, body, line)
		}
	})
}
