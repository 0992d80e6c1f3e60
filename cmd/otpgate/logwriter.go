package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logFlushInterval bounds how long a log line waits in the server's buffer.
const logFlushInterval = 100 * time.Millisecond

// logWriter buffers the server's log lines and writes them out at least
// every logFlushInterval, and when the buffer fills. One write system call
// per request line costs the forward-auth check about a tenth of its
// throughput; a line is still written whole, and Close writes out the
// rest. slog handlers write each record with one Write call, so lines from
// concurrent requests never interleave.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// newLogWriter starts the flushing of w's buffer; Close stops it.
func newLogWriter(w io.Writer) *logWriter {
	lw := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.flushEvery(logFlushInterval)
	return lw
}

// Write buffers p.
func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.Write(p)
}

func (lw *logWriter) flushEvery(d time.Duration) {
	defer close(lw.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-lw.stop:
			return
		case <-t.C:
			lw.flush()
		}
	}
}

func (lw *logWriter) flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.Flush()
}

// Close stops the flushing and writes out what is buffered.
func (lw *logWriter) Close() error {
	close(lw.stop)
	<-lw.done
	return lw.flush()
}
