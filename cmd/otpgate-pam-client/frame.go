package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// The request framing, written by pam_otpgate.c: the line "otpgate-pam 1",
// then the fields below in this order, each "NAME LEN\n" + LEN bytes + "\n"
// (LEN decimal, 1 to 4 digits, no leading zero), the password only when the
// module passes it, then "end\n". Nothing may follow.
const frameHeader = "otpgate-pam 1\n"

// fieldMax is the longest field the framing carries (the module refuses
// longer ones itself); the limits below are the helper's own.
const fieldMax = 1024

// Limits on the fields, in bytes.
const (
	maxUser     = 64
	maxCode     = 32
	maxService  = 64 // the server's limits (README, "The endpoints")
	maxRHost    = 255
	maxTTY      = 64
	maxPassword = 1024
)

// request is one framed request from the module.
type request struct {
	Op          string // "authenticate" or "account"
	User        string
	Code        string
	Service     string
	RHost       string
	TTY         string
	Password    string
	HasPassword bool
}

var fieldNames = []string{"op", "user", "code", "service", "rhost", "tty"}

// errFrame is the kind of every framing error.
var errFrame = errors.New("bad request framing")

// readRequest reads exactly one request from r and checks that nothing
// follows it. It reads at most the longest valid request plus one byte.
func readRequest(r io.Reader) (request, error) {
	limit := int64(len(frameHeader) + 7*(16+fieldMax) + len("end\n") + 1)
	br := bufio.NewReader(io.LimitReader(r, limit))
	var req request
	if err := expect(br, frameHeader); err != nil {
		return req, fmt.Errorf("%w: header: %v", errFrame, err)
	}
	dst := []*string{&req.Op, &req.User, &req.Code, &req.Service, &req.RHost, &req.TTY}
	for i, name := range fieldNames {
		v, err := readField(br, name)
		if err != nil {
			return req, err
		}
		*dst[i] = v
	}
	line, err := readLine(br, 32)
	if err != nil {
		return req, fmt.Errorf("%w: after tty: %v", errFrame, err)
	}
	if line == "password" || (len(line) > 9 && line[:9] == "password ") {
		n, err := fieldLength(line, "password")
		if err != nil {
			return req, err
		}
		v, err := readValue(br, n, "password")
		if err != nil {
			return req, err
		}
		req.Password, req.HasPassword = v, true
		if line, err = readLine(br, 32); err != nil {
			return req, fmt.Errorf("%w: after password: %v", errFrame, err)
		}
	}
	if line != "end" {
		return req, fmt.Errorf("%w: want end, got %q", errFrame, line)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return req, fmt.Errorf("%w: bytes after end", errFrame)
	}
	if req.Op != "authenticate" && req.Op != "account" {
		return req, fmt.Errorf("%w: unknown op %q", errFrame, req.Op)
	}
	return req, nil
}

func expect(br *bufio.Reader, s string) error {
	buf := make([]byte, len(s))
	if _, err := io.ReadFull(br, buf); err != nil {
		return err
	}
	if string(buf) != s {
		return fmt.Errorf("got %q", buf)
	}
	return nil
}

// readLine reads one line of at most max bytes, without its newline.
func readLine(br *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) == max {
			return "", errors.New("line too long")
		}
		b = append(b, c)
	}
}

func readField(br *bufio.Reader, name string) (string, error) {
	line, err := readLine(br, 32)
	if err != nil {
		return "", fmt.Errorf("%w: field %s: %v", errFrame, name, err)
	}
	n, err := fieldLength(line, name)
	if err != nil {
		return "", err
	}
	return readValue(br, n, name)
}

// fieldLength parses "NAME LEN".
func fieldLength(line, name string) (int, error) {
	if len(line) < len(name)+2 || line[:len(name)] != name || line[len(name)] != ' ' {
		return 0, fmt.Errorf("%w: want field %s, got %q", errFrame, name, line)
	}
	digits := line[len(name)+1:]
	if len(digits) > 4 || (len(digits) > 1 && digits[0] == '0') {
		return 0, fmt.Errorf("%w: field %s: bad length %q", errFrame, name, digits)
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: field %s: bad length %q", errFrame, name, digits)
		}
	}
	n, _ := strconv.Atoi(digits)
	if n > fieldMax {
		return 0, fmt.Errorf("%w: field %s: %d bytes, more than %d", errFrame, name, n, fieldMax)
	}
	return n, nil
}

func readValue(br *bufio.Reader, n int, name string) (string, error) {
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		return "", fmt.Errorf("%w: field %s: %v", errFrame, name, err)
	}
	if buf[n] != '\n' {
		return "", fmt.Errorf("%w: field %s: no newline after %d bytes", errFrame, name, n)
	}
	return string(buf[:n]), nil
}

// encodeRequest writes req in the module's framing (the tests' stand-in for
// pam_otpgate.c).
func encodeRequest(req request) []byte {
	var b bytes.Buffer
	b.WriteString(frameHeader)
	for i, v := range []string{req.Op, req.User, req.Code, req.Service, req.RHost, req.TTY} {
		fmt.Fprintf(&b, "%s %d\n%s\n", fieldNames[i], len(v), v)
	}
	if req.HasPassword {
		fmt.Fprintf(&b, "password %d\n%s\n", len(req.Password), req.Password)
	}
	b.WriteString("end\n")
	return b.Bytes()
}

// check applies the helper's own limits: lengths, no NUL or other control
// byte in names, valid UTF-8 everywhere. Its error names the field, never
// the value of a code or password.
func (r request) check() error {
	if r.User == "" {
		return errors.New("empty user name")
	}
	if err := text("user", r.User, maxUser, true); err != nil {
		return err
	}
	if err := text("code", r.Code, maxCode, true); err != nil {
		return err
	}
	if r.Op == "account" && r.Code != "" {
		return errors.New("account request with a code")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"service", r.Service, maxService}, {"rhost", r.RHost, maxRHost}, {"tty", r.TTY, maxTTY}} {
		if err := text(f.name, f.v, f.max, true); err != nil {
			return err
		}
	}
	return text("password", r.Password, maxPassword, false)
}

// text checks one field: at most max bytes, valid UTF-8, no NUL and, when
// noControl, no other control character either.
func text(name, v string, max int, noControl bool) error {
	if len(v) > max {
		return fmt.Errorf("%s longer than %d bytes", name, max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not UTF-8", name)
	}
	for _, c := range v {
		if c == 0 {
			return fmt.Errorf("%s has a NUL byte", name)
		}
		if noControl && (c < 0x20 || c == 0x7f) {
			return fmt.Errorf("%s has a control character", name)
		}
	}
	return nil
}
