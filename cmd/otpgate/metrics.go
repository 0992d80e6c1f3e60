package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/otpgate/otpgate/internal/metrics"
	"github.com/otpgate/otpgate/internal/mfa"
)

// metricsSettings are the Prometheus metrics' settings, and the metrics
// of a running server.
type metricsSettings struct {
	Addr string
	m    *metrics.Metrics
}

func metricsFlags(fs *flag.FlagSet, s *metricsSettings) {
	fs.StringVar(&s.Addr, "metrics-addr", "", "`address` (host:port) of a separate listener serving Prometheus metrics at /metrics; empty means off. Keep it off the public network")
}

func (s *metricsSettings) validate() []error {
	if s.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return []error{fmt.Errorf("metrics-addr %q: want host:port", s.Addr)}
	}
	return nil
}

// wrap makes the metrics, when on, and returns store with its latency
// observed; the metrics hear of every audit entry.
func (s *metricsSettings) wrap(store mfa.Store, audit *auditSettings) mfa.Store {
	if s.Addr == "" {
		return store
	}
	s.m = metrics.New(metrics.Options{
		Dropped: func() uint64 {
			if audit.writer == nil {
				return 0
			}
			return audit.writer.Dropped()
		},
		Coverage: func(ctx context.Context) ([]mfa.GroupCoverage, error) {
			if audit.coverage == nil {
				return nil, nil
			}
			return audit.coverage(ctx)
		},
	})
	audit.hooks = append(audit.hooks, s.m.Observe)
	return s.m.Store(store)
}

// serve listens on the metrics address until ctx ends; it returns the
// address it listens on.
func (s *metricsSettings) serve(ctx context.Context, log *slog.Logger) (string, error) {
	if s.m == nil {
		return "", nil
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}
