package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otpgate/otpgate/internal/metrics"
	"github.com/otpgate/otpgate/internal/mfa"
)

// scrapeCoverage serves the metrics with the service's coverage of the
// groups in force, as the server does, scrapes them and returns each
// group's members, enrolled and enrolled by file.
func scrapeCoverage(t *testing.T, svc *mfa.Service) map[string][3]float64 {
	t.Helper()
	srv := httptest.NewServer(metrics.New(metrics.Options{Coverage: svc.EnforcedCoverage}).Handler())
	defer srv.Close()
	r, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r.Body)
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	out := map[string][3]float64{}
	for i, name := range []string{"otpgate_group_members", "otpgate_group_enrolled", "otpgate_group_enrolled_file"} {
		for _, m := range fams[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "group" {
					v := out[l.GetValue()]
					v[i] = m.GetGauge().GetValue()
					out[l.GetValue()] = v
				}
			}
		}
	}
	return out
}

var factorRe = regexp.MustCompile(`<a class="user" href="/admin/users/([a-z]+)">[^\n]*\n<td>[^<]*</td>\n<td class="factor">([^<]*)</td>`)

// factors returns the second factor column of the admin list, by user.
func (e *env) factors(admin *http.Client) map[string]string {
	e.t.Helper()
	r := e.get(admin, "/admin")
	out := map[string]string{}
	for _, m := range factorRe.FindAllStringSubmatch(r.body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestCoverageFiles: the coverage of an enforced group counts the members
// with a TOTP in the store and those whose google-authenticator file a
// sign-in can use (a real file in a temporary directory), not a file with
// too open a mode, one that does not parse, a directory in its place, no
// file, nor a disabled member; the admin list's second factor column
// judges each the same way; the count is kept for CoverageTTL, on the
// pages and in the metrics.
func TestCoverageFiles(t *testing.T) {
	rules, err := mfa.ParseEnforcement("enforce.conf", strings.NewReader("second factor required for groups hpc from 2099-01-01\n"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e, dir, _ := fileEnv(t, setup{mopts: mfa.Options{Enforce: rules}})
	ctx := context.Background()
	root := e.signInAdmin()
	var users []mfa.User
	for _, name := range []string{"ann", "filer", "loose", "junk", "dir", "none", "off"} {
		users = append(users, e.addUser(name))
	}
	ann := e.client()
	e.login(ann, "ann", "", "/settings")
	e.enroll(ann)
	for _, u := range users {
		groups := []string{"hpc"}
		if _, err := e.svc.SetProfile(ctx, u.ID, mfa.Profile{Groups: &groups}); err != nil {
			t.Fatal(err)
		}
	}
	writeStateFile(t, dir, "filer", stateFile, 0o600)
	writeStateFile(t, dir, "loose", stateFile, 0o644)
	writeStateFile(t, dir, "junk", "JBSW\x00Y3DP\n", 0o600) // a NUL byte: the module refuses it
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeStateFile(t, dir, "off", stateFile, 0o600)
	off, _ := e.svc.UserByName(ctx, "off")
	if err := e.svc.SetDisabled(ctx, off.ID, true); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"ann": "store", "filer": "file", "loose": "file (unusable)", "junk": "file (unusable)", "dir": "file (unusable)",
		"none": "none", "off": "file", "root": "store"}
	got := e.factors(root)
	for name, f := range want {
		if got[name] != f {
			t.Errorf("second factor column of %s = %q, want %q", name, got[name], f)
		}
	}
	check := func(when string, enrolled, fromFile int) {
		t.Helper()
		c, err := e.svc.Coverage(ctx, []string{"hpc"})
		if err != nil || len(c) != 1 || c[0] != (mfa.GroupCoverage{Group: "hpc", Members: 6, Enrolled: enrolled, FromFile: fromFile}) {
			t.Errorf("%s: Coverage(hpc) = %+v, %v, want 6 members, %d enrolled, %d by file", when, c, err, enrolled, fromFile)
		}
		line := regexp.QuoteMeta(`data-group="hpc">`) + `(\d+) of 6 members of hpc have a second factor \((\d+) by their file\)`
		for _, path := range []string{"/admin", "/admin/enforcement"} {
			m := regexp.MustCompile(line).FindStringSubmatch(e.get(root, path).body)
			if m == nil || m[1] != strconv.Itoa(enrolled) || m[2] != strconv.Itoa(fromFile) {
				t.Errorf("%s: %s shows %v, want %d of 6, %d by their file", when, path, m, enrolled, fromFile)
			}
		}
		if m := scrapeCoverage(t, e.svc)["hpc"]; m != [3]float64{6, float64(enrolled), float64(fromFile)} {
			t.Errorf("%s: metrics of hpc (members, enrolled, by file) = %v, want 6, %d, %d", when, m, enrolled, fromFile)
		}
	}
	check("at first", 2, 1)
	// none makes a file: counted once the count is CoverageTTL old.
	writeStateFile(t, dir, "none", stateFile, 0o600)
	check("at once", 2, 1)
	e.clock.Add(e.svc.Options().CoverageTTL)
	check("a TTL later", 3, 2)
}
