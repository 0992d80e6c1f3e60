package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLogWriter: a line reaches the output within the flush interval
// without Close, lines written at once stay whole, and Close writes out the
// rest.
func TestLogWriter(t *testing.T) {
	var out syncBuffer
	lw := newLogWriter(&out)
	fmt.Fprintf(lw, "first line\n")
	if out.String() != "" {
		t.Fatalf("written at once: %q", out.String())
	}
	deadline := time.Now().Add(10 * logFlushInterval)
	for out.String() != "first line\n" {
		if time.Now().After(deadline) {
			t.Fatalf("not flushed after %v: %q", 10*logFlushInterval, out.String())
		}
		time.Sleep(logFlushInterval / 4)
	}

	var wg sync.WaitGroup
	line := strings.Repeat("x", 1000) + "\n"
	for range 8 {
		wg.Go(func() {
			for range 200 {
				lw.Write([]byte(line))
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(lw, "last line\n")
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+8*200+1 || lines[len(lines)-1] != "last line" {
		t.Fatalf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	for i, l := range lines[1 : len(lines)-1] {
		if l+"\n" != line {
			t.Fatalf("line %d torn: %d bytes", i+1, len(l))
		}
	}
}
