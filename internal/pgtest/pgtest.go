// Package pgtest gives tests a PostgreSQL of their own: a fresh schema in
// the test database (OTPGATE_TEST_POSTGRES_DSN, which scripts/test fills
// from scripts/start-postgres), and a TCP proxy in front of the database
// that can cut every connection, as a crashed database or a failed network
// would, and come back.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/otpgate/otpgate/internal/testenv"
)

// DSNVar names the variable that holds the test database's DSN.
const DSNVar = "OTPGATE_TEST_POSTGRES_DSN"

// BaseDSN returns the test database's DSN, or skips the test (fails it
// under OTPGATE_REQUIRE_INTEGRATION=1).
func BaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNVar)
	if dsn == "" {
		testenv.SkipOrFail(t, DSNVar+" not set (scripts/start-postgres prints it)")
	}
	return dsn
}

// WithParams returns dsn with the given connection parameters set, in
// whichever form (URL or key=value) dsn has.
func WithParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", DSNVar, err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += " " + k + "=" + v
	}
	return dsn
}

// Schema creates an empty schema, dropped when the test ends, and returns a
// DSN whose connections use it (search_path) and carry its name as
// application_name, so that a test can find its own backends in
// pg_stat_activity; admin is a connection to the test database.
func Schema(t testing.TB) (dsn string, admin *sql.DB, schema string) {
	t.Helper()
	base := BaseDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	schema = "otpgate_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("DROP SCHEMA: %v", err)
		}
	})
	return WithParams(t, base, map[string]string{"search_path": schema, "application_name": schema}), admin, schema
}

// Proxy forwards TCP connections to the database and can cut them all and
// refuse new ones, then listen again on the same address.
type Proxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

// NewProxy starts a proxy to the database of dsn, cut when the test ends,
// and returns it with dsn redirected through it.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.listen(ln)
	t.Cleanup(p.Cut)
	host, port, _ := net.SplitHostPort(p.addr)
	return p, WithParams(t, dsn, map[string]string{"host": host, "port": port})
}

func (p *Proxy) listen(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			p.mu.Lock()
			if err != nil || p.ln != ln { // cut meanwhile
				p.mu.Unlock()
				c.Close()
				if d != nil {
					d.Close()
				}
				continue
			}
			p.conns[c], p.conns[d] = true, true
			p.mu.Unlock()
			go pipe(c, d)
			go pipe(d, c)
		}
	}()
}

func pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes the listener and every connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Resume listens again on the same address.
func (p *Proxy) Resume(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.listen(ln)
}
