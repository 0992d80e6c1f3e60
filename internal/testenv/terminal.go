//go:build linux

package testenv

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// OpenPTY opens a pseudo-terminal in raw mode (no echo, no newline
// translation) and returns its master and slave ends.
func OpenPTY(t testing.TB) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		SkipOrFail(t, "no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TerminalImage turns the QR code drawn in a terminal (lines framed by
// ESC[30;47;27m ... ESC[0m) back into an image, as a screen would show
// it: grey cells light, reverse-video cells and the dark halves of block
// characters black, scale pixels per module.
func TerminalImage(t testing.TB, out string, scale int) []byte {
	t.Helper()
	halves := strings.ContainsAny(out, "█▀▄") // UTF8 mode: two module rows per line
	var rows [][]bool
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSuffix(l, "\r")
		body, ok := strings.CutPrefix(l, "\x1b[30;47;27m")
		if !ok {
			continue
		}
		body = strings.TrimSuffix(body, "\x1b[0m")
		var top, bottom []bool
		reverse := false
		for s := body; s != ""; {
			switch {
			case strings.HasPrefix(s, "\x1b[7m"):
				reverse, s = true, s[len("\x1b[7m"):]
			case strings.HasPrefix(s, "\x1b[27m"):
				reverse, s = false, s[len("\x1b[27m"):]
			case !halves && strings.HasPrefix(s, "  "):
				top, s = append(top, reverse), s[2:]
			case halves:
				r := []rune(s)[0]
				top = append(top, r == '█' || r == '▀')
				bottom = append(bottom, r == '█' || r == '▄')
				s = s[len(string(r)):]
			default:
				t.Fatalf("unexpected %q in a QR code line %q", s, l)
			}
		}
		rows = append(rows, top)
		if halves {
			rows = append(rows, bottom)
		}
	}
	if len(rows) == 0 {
		t.Fatalf("no QR code in the output:\n%s", out)
	}
	w := 0
	for _, r := range rows {
		w = max(w, len(r))
	}
	img := image.NewGray(image.Rect(0, 0, w*scale, len(rows)*scale))
	for y, r := range rows {
		for x := range w {
			c := color.Gray{0xc0}
			if x < len(r) && r[x] {
				c = color.Gray{0}
			}
			for py := y * scale; py < (y+1)*scale; py++ {
				for px := x * scale; px < (x+1)*scale; px++ {
					img.SetGray(px, py, c)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Zbarimg decodes the QR code in a PNG image with zbarimg.
func Zbarimg(t testing.TB, img []byte) string {
	t.Helper()
	bin := LookPath(t, "zbarimg")
	f := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(f, img, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code: %v", err)
	}
	return strings.TrimSuffix(string(out), "\n")
}
