package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otpgate/otpgate/internal/api"
	"github.com/otpgate/otpgate/otp"
)

// TestMetrics runs the server with -metrics-addr, enrols a user through
// the JSON API and makes sign-ins of every kind, then scrapes /metrics on
// the separate listener, parses it with the Prometheus text parser and
// checks that the counts are those of the sign-ins made, and the
// coverage of the groups the -enforce-file names.
func TestMetrics(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	rules := filepath.Join(t.TempDir(), "enforce.conf")
	os.WriteFile(rules, []byte("second factor required for groups hpc, staff from 2099-01-15\n"), 0o600)
	s := startServer(t, dir, "-metrics-addr", "127.0.0.1:0", "-enforce-file", rules)
	defer s.stop()
	m := regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", s.stderr)
	}
	metricsURL := "http://" + m[1] + "/metrics"
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"user", "add", "-data-dir", dir, "--password-stdin", "--groups", "hpc", "ann"}, fastFlags...),
		func(string) string { return "" }, strings.NewReader("ann password\n"), &out, &errb); err != nil {
		t.Fatalf("user add = %v\n%s", err, errb.String())
	}
	post := func(path string, body any, into any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		r, err := http.Post(s.url+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if into != nil {
			json.NewDecoder(r.Body).Decode(into)
		}
		return r.StatusCode
	}
	var enr api.EnrolResponse
	if st := post("/api/v1/enrol", api.EnrolRequest{Username: "ann", Password: "ann password"}, &enr); st != 200 {
		t.Fatalf("enrol = %d %+v", st, enr)
	}
	secret, err := otp.DecodeSecret(enr.Key)
	if err != nil {
		t.Fatal(err)
	}
	key := otp.Key{Secret: secret}
	t0 := time.Now()
	if st := post("/api/v1/enrol/confirm", api.EnrolConfirmRequest{Username: "ann", ID: enr.ID, Code: key.TOTP(t0)}, &enr); st != 200 {
		t.Fatalf("enrol confirm = %d %+v", st, enr)
	}
	verify := func(name, password, code string) {
		t.Helper()
		post("/api/v1/verify", api.VerifyRequest{Username: name, Password: password, OTP: code}, nil)
	}
	for range 3 {
		verify("ann", "wrong", "")
	}
	verify("nobody", "wrong", "")
	verify("ann", "ann password", "")
	verify("ann", "ann password", key.TOTP(t0.Add(30*time.Second)))
	for range 5 {
		verify("ann", "ann password", "000000")
	}

	r, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	sum := func(name string, labels map[string]string) float64 {
		f := fams[name]
		if f == nil {
			return 0
		}
		var n float64
	next:
		for _, mt := range f.Metric {
			for k, v := range labels {
				if !hasLabel(mt, k, v) {
					continue next
				}
			}
			switch {
			case mt.Counter != nil:
				n += mt.Counter.GetValue()
			case mt.Histogram != nil:
				n += float64(mt.Histogram.GetSampleCount())
			}
		}
		return n
	}
	signIn := map[string]string{"path": "api", "step": "sign-in"}
	with := func(m map[string]string, k, v string) map[string]string {
		c := map[string]string{k: v}
		for a, b := range m {
			c[a] = b
		}
		return c
	}
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"wrong passwords", "otpgate_signins_total", with(with(signIn, "result", "credentials_wrong"), "reason", "wrong password"), 3},
		{"unknown user", "otpgate_signins_total", with(with(signIn, "result", "credentials_wrong"), "reason", "unknown user"), 1},
		{"code required", "otpgate_signins_total", with(signIn, "result", "code_required"), 1},
		// The enrolment's password check, and the sign-in with a code.
		{"signed in", "otpgate_signins_total", with(signIn, "result", "ok"), 2},
		{"wrong codes and throttled", "otpgate_signins_total", with(signIn, "reason", "wrong code"), 3},
		{"throttled", "otpgate_throttled_total", map[string]string{"path": "api", "reason": "too many wrong codes"}, 2},
		{"every sign-in", "otpgate_signins_total", signIn, 12},
		// The enrolment's code, the accepted code, the wrong ones.
		{"code checks ok", "otpgate_code_checks_total", map[string]string{"result": "ok"}, 2},
		{"code checks", "otpgate_code_checks_total", nil, 7},
		{"drift", "otpgate_code_drift_steps", nil, 2},
		{"store latency", "otpgate_store_seconds", map[string]string{"op": "user_by_name"}, -1},
	}
	for _, tc := range tests {
		got := sum(tc.metric, tc.labels)
		if tc.want < 0 && got > 0 {
			continue
		}
		if got != tc.want {
			t.Errorf("%s: %s%v = %v, want %v", tc.name, tc.metric, tc.labels, got, tc.want)
		}
	}
	for _, g := range []struct {
		metric, group string
		want          float64
	}{{"otpgate_group_members", "hpc", 1}, {"otpgate_group_enrolled", "hpc", 1}, {"otpgate_group_members", "staff", 0}} {
		var got float64 = -1
		for _, mt := range fams[g.metric].GetMetric() {
			if hasLabel(mt, "group", g.group) {
				got = mt.GetGauge().GetValue()
			}
		}
		if got != g.want {
			t.Errorf("%s{group=%q} = %v, want %v", g.metric, g.group, got, g.want)
		}
	}
	if h := fams["otpgate_code_drift_steps"]; h != nil {
		if s := h.Metric[0].Histogram.GetSampleSum(); s < 0 || s > 2 {
			t.Errorf("drift sum = %v, want 0 to 2 (the codes were of the current step or the next)", s)
		}
	}
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return value == ""
}
