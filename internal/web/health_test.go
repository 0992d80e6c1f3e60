package web_test

import (
	"strings"
	"testing"
)

// TestHealthPingsStore checks that /healthz asks the store: 200 while it
// answers, 503 with the reason once it cannot (here: closed), never
// naming the store's error.
func TestHealthPingsStore(t *testing.T) {
	e := newEnv(t, setup{})
	if r := e.get(e.client(), "/healthz"); r.status != 200 || !strings.Contains(r.body, `"status":"ok"`) {
		t.Fatalf("GET /healthz = %d %s, want 200 ok", r.status, r.body)
	}
	e.store.Close()
	r := e.get(e.client(), "/healthz")
	if r.status != 503 || !strings.Contains(r.body, `"reason":"database unavailable"`) || strings.Contains(r.body, "closed") {
		t.Errorf("GET /healthz with the store closed = %d %s, want 503 with the reason only", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "health check") {
		t.Errorf("the failed health check was not logged:\n%s", e.logs)
	}
}
