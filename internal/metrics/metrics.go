// Package metrics exposes otpgate's Prometheus metrics: sign-ins and code
// checks by path, result and reason, throttled attempts, the clock drift
// of accepted codes in steps, the store's latency, the audit log's dropped
// entries and the enrolment coverage of enforced groups. It is the one
// importer of the Prometheus client library; the core hands it the audit
// log's entries (Metrics.Observe), and cmd/otpgate serves its Handler on
// a listen address of its own.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otpgate/otpgate/internal/mfa"
)

// Metrics holds the collectors of one server.
type Metrics struct {
	reg        *prometheus.Registry
	signIns    *prometheus.CounterVec
	codeChecks *prometheus.CounterVec
	throttled  *prometheus.CounterVec
	drift      prometheus.Histogram
	storeTime  *prometheus.HistogramVec
}

// Options are what the metrics read at each scrape.
type Options struct {
	// Dropped, if not nil, counts the audit entries dropped.
	Dropped func() uint64
	// Coverage, if not nil, tells the enrolment coverage of the enforced
	// groups (mfa.Service.EnforcedCoverage: the file's rules and those set
	// on the admin pages).
	Coverage func(ctx context.Context) ([]mfa.GroupCoverage, error)
}

// New registers every collector on a registry of its own.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otpgate_signins_total",
		Help: "Sign-in steps (password, second step, JSON API) by path, result and reason."}, []string{"path", "step", "result", "reason"})
	m.codeChecks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otpgate_code_checks_total",
		Help: "Codes checked (TOTP, recovery, file; at sign-in, typed again, enrolment) by path, result and reason."}, []string{"path", "result", "reason"})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otpgate_throttled_total",
		Help: "Attempts answered throttled, by path and reason."}, []string{"path", "reason"})
	m.drift = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "otpgate_code_drift_steps",
		Help:    "Accepted TOTP codes by how many steps they were off the server's clock (positive: the phone is ahead); a shift of many users at once means the server's clock is wrong.",
		Buckets: []float64{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}})
	m.storeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "otpgate_store_seconds",
		Help:    "Latency of the store's calls on the sign-in and session paths, by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"op"})
	m.reg.MustRegister(m.signIns, m.codeChecks, m.throttled, m.drift, m.storeTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Dropped != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "otpgate_audit_dropped_total",
			Help: "Audit log entries dropped because the writer's queue was full."}, func() float64 { return float64(o.Dropped()) }))
	}
	if o.Coverage != nil {
		m.reg.MustRegister(&coverage{f: o.Coverage})
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Observe counts an audit log entry (mfa.Deps.Audit).
func (m *Metrics) Observe(_ context.Context, e mfa.AuditEntry) {
	path := string(e.Path)
	switch e.Action {
	case mfa.ActionSignIn, mfa.ActionSecondFactor:
		m.signIns.WithLabelValues(path, e.Action, e.Result, e.Reason).Inc()
	}
	if e.Code {
		m.codeChecks.WithLabelValues(path, e.Result, e.Reason).Inc()
	}
	if e.Result == "throttled" {
		m.throttled.WithLabelValues(path, e.Reason).Inc()
	}
	if e.Code && e.Result == "ok" && e.Reason != "recovery code" && e.Reason != "file code" {
		m.drift.Observe(float64(e.Drift))
	}
}

// ObserveStore records the latency of one store call.
func (m *Metrics) ObserveStore(op string, d time.Duration) {
	m.storeTime.WithLabelValues(op).Observe(d.Seconds())
}

// coverage collects the enrolment coverage at each scrape.
type coverage struct {
	f func(ctx context.Context) ([]mfa.GroupCoverage, error)
}

var (
	membersDesc  = prometheus.NewDesc("otpgate_group_members", "Members of a group a second-factor rule names.", []string{"group"}, nil)
	enrolledDesc = prometheus.NewDesc("otpgate_group_enrolled", "Members of a group a second-factor rule names who have a second factor (in the store or a usable google-authenticator file).", []string{"group"}, nil)
	fromFileDesc = prometheus.NewDesc("otpgate_group_enrolled_file", "Members of a group a second-factor rule names whose second factor is their google-authenticator file.", []string{"group"}, nil)
)

func (c *coverage) Describe(ch chan<- *prometheus.Desc) {
	ch <- membersDesc
	ch <- enrolledDesc
	ch <- fromFileDesc
}

func (c *coverage) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := c.f(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(membersDesc, err)
		return
	}
	for _, g := range gs {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(g.Members), g.Group)
		ch <- prometheus.MustNewConstMetric(enrolledDesc, prometheus.GaugeValue, float64(g.Enrolled), g.Group)
		ch <- prometheus.MustNewConstMetric(fromFileDesc, prometheus.GaugeValue, float64(g.FromFile), g.Group)
	}
}
