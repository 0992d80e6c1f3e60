package qr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otpgate/otpgate/internal/testenv"
	goqr "github.com/piglig/go-qr"
)

// texts are what the tests encode: key URIs as google-authenticator prints
// them (26- and 32-character secrets, escaped labels, HOTP), and the
// extremes of length.
var texts = []string{
	"otpauth://totp/root@vm?secret=LDDT2SISYLZKHV3GH7G6RGWKAI&issuer=vm",
	"otpauth://totp/alice@login01.example.org?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=login01.example.org",
	"otpauth://hotp/Al%20ice%26b%3Dc%3Fd%25e@x/y:z?secret=TRQGL45LLZXRVMGNJZEXOTCCTE&issuer=My%20Co%3D1%262",
	"x",
	strings.Repeat("otpauth://totp/a?secret=ABCDEFGH&", 30),
}

// ParseTerminal reads back what Terminal drew: it checks every line's
// framing (colours, border, reset) and returns the modules, dark = true.
func parseTerminal(out string, mode Mode) ([][]bool, error) {
	lines := strings.Split(out, "\n")
	if lines[len(lines)-1] != "" {
		return nil, errors.New("last line does not end in a newline")
	}
	lines = lines[:len(lines)-1]
	for i, l := range lines {
		if !strings.HasPrefix(l, blackOnGrey) || !strings.HasSuffix(l, reset) {
			return nil, fmt.Errorf("line %d: not framed by %q and %q: %q", i+1, blackOnGrey, reset, l)
		}
		lines[i] = strings.TrimSuffix(strings.TrimPrefix(l, blackOnGrey), reset)
	}
	switch mode {
	case ANSI:
		return parseANSI(lines)
	case UTF8:
		return parseUTF8(lines)
	}
	return nil, fmt.Errorf("unknown mode %v", mode)
}

func parseANSI(lines []string) ([][]bool, error) {
	n := len(lines) - 4
	if n < 21 {
		return nil, fmt.Errorf("%d lines, want at least 25", len(lines))
	}
	blank := strings.Repeat("  ", n+4)
	for _, i := range []int{0, 1, n + 2, n + 3} {
		if lines[i] != blank {
			return nil, fmt.Errorf("border line %d = %q, want %d spaces", i+1, lines[i], len(blank))
		}
	}
	var grid [][]bool
	for i, l := range lines[2 : n+2] {
		if !strings.HasPrefix(l, "    ") || !strings.HasSuffix(l, "    ") || strings.HasSuffix(l, reverseOn+"    ") {
			return nil, fmt.Errorf("line %d: no light border of 4 spaces: %q", i+3, l)
		}
		row := make([]bool, 0, n)
		dark := false
		for s := l[4 : len(l)-4]; s != ""; {
			switch {
			case strings.HasPrefix(s, reverseOn) && !dark:
				dark, s = true, s[len(reverseOn):]
			case strings.HasPrefix(s, reverseOff) && dark:
				dark, s = false, s[len(reverseOff):]
			case strings.HasPrefix(s, "  "):
				row, s = append(row, dark), s[2:]
			default:
				return nil, fmt.Errorf("line %d: unexpected %q", i+3, s)
			}
		}
		if dark {
			return nil, fmt.Errorf("line %d: reverse video left on", i+3)
		}
		if len(row) != n {
			return nil, fmt.Errorf("line %d: %d modules, want %d", i+3, len(row), n)
		}
		grid = append(grid, row)
	}
	return grid, nil
}

func parseUTF8(lines []string) ([][]bool, error) {
	if len(lines) < 13 {
		return nil, fmt.Errorf("%d lines, want at least 13", len(lines))
	}
	width := len([]rune(lines[0])) - 2*utf8Border
	blank := strings.Repeat(" ", width+2*utf8Border)
	if lines[0] != blank || lines[len(lines)-1] != blank {
		return nil, fmt.Errorf("border lines %q and %q, want %d spaces", lines[0], lines[len(lines)-1], len(blank))
	}
	var grid [][]bool
	for i, l := range lines[1 : len(lines)-1] {
		r := []rune(l)
		if len(r) != width+2*utf8Border || string(r[:2]) != "  " || string(r[len(r)-2:]) != "  " {
			return nil, fmt.Errorf("line %d: not %d modules between 2-column borders: %q", i+2, width, l)
		}
		top, bottom := make([]bool, width), make([]bool, width)
		for x, c := range r[2 : len(r)-2] {
			switch string(c) {
			case fullBlock:
				top[x], bottom[x] = true, true
			case upperHalf:
				top[x] = true
			case lowerHalf:
				bottom[x] = true
			case bothLight:
			default:
				return nil, fmt.Errorf("line %d: unexpected %q", i+2, c)
			}
		}
		grid = append(grid, top, bottom)
	}
	if len(grid) != width+1 {
		return nil, fmt.Errorf("%d module rows for %d columns, want one spare half row", len(grid), width)
	}
	for x, d := range grid[width] {
		if d {
			return nil, fmt.Errorf("spare half row has a dark module at column %d", x)
		}
	}
	return grid[:width], nil
}

// GridPNG draws modules as a terminal shows them: border modules of light
// around them (what the drawing itself puts there, nothing more), scale
// pixels per module.
func gridPNG(t testing.TB, grid [][]bool, border, scale int) []byte {
	t.Helper()
	side := (len(grid) + 2*border) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xc0 // the grey of ANSI colour 47
	}
	for y, row := range grid {
		for x, d := range row {
			if !d {
				continue
			}
			for py := (y + border) * scale; py < (y+border+1)*scale; py++ {
				for px := (x + border) * scale; px < (x+border+1)*scale; px++ {
					img.SetGray(px, py, color.Gray{0})
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

// Zbarimg decodes the QR code in an image with zbarimg (Debian zbar-tools),
// an independent decoder, and returns its text.
func zbarimg(t testing.TB, img []byte, ext string) string {
	t.Helper()
	bin := testenv.LookPath(t, "zbarimg")
	f := filepath.Join(t.TempDir(), "code."+ext)
	if err := os.WriteFile(f, img, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v (no code found?)", f, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func TestTerminalDecodes(t *testing.T) {
	for _, mode := range []Mode{ANSI, UTF8} {
		for i, text := range texts {
			t.Run(fmt.Sprintf("%v/%d", mode, i), func(t *testing.T) {
				var b bytes.Buffer
				if err := Terminal(&b, text, mode); err != nil {
					t.Fatalf("Terminal(%q, %v) = %v", text, mode, err)
				}
				grid, err := parseTerminal(b.String(), mode)
				if err != nil {
					t.Fatalf("Terminal(%q, %v) drew a bad frame: %v", text, mode, err)
				}
				want := mustEncode(t, text)
				if !sameModules(grid, want) {
					t.Fatalf("Terminal(%q, %v) drew other modules than the code's", text, mode)
				}
				// The terminal's quiet zone: 2 modules (ANSI), 2 columns and one text
				// row = 2 module rows (UTF8).
				if got := zbarimg(t, gridPNG(t, grid, 2, 4), "png"); got != text {
					t.Errorf("zbarimg(Terminal(%q, %v)) = %q, want the text", text, mode, got)
				}
			})
		}
	}
}

// TestTerminalFrame pins the exact bytes of a small drawing, so that a
// change of framing (which users' scripts and our command's tests read)
// shows up here.
func TestTerminalFrame(t *testing.T) {
	for _, tc := range []struct {
		mode       Mode
		lines      int
		firstLine  string
		secondLine string
	}{
		// "x" is a version 1 code: 21 modules.
		{ANSI, 25, blackOnGrey + strings.Repeat(" ", 50) + reset, blackOnGrey + strings.Repeat(" ", 50) + reset},
		{UTF8, 13, blackOnGrey + strings.Repeat(" ", 25) + reset, blackOnGrey + "  " + fullBlock + strings.Repeat(upperHalf, 5) + fullBlock},
	} {
		var b bytes.Buffer
		if err := Terminal(&b, "x", tc.mode); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != tc.lines {
			t.Errorf("Terminal(%q, %v) has %d lines, want %d", "x", tc.mode, len(lines), tc.lines)
		}
		if lines[0] != tc.firstLine {
			t.Errorf("Terminal(%q, %v) line 1 = %q, want %q", "x", tc.mode, lines[0], tc.firstLine)
		}
		if !strings.HasPrefix(lines[1], tc.secondLine) {
			t.Errorf("Terminal(%q, %v) line 2 = %q, want prefix %q", "x", tc.mode, lines[1], tc.secondLine)
		}
	}
	if err := Terminal(&bytes.Buffer{}, "x", Mode(7)); err == nil {
		t.Errorf("Terminal(Mode(7)) = nil, want an error")
	}
}

func TestPNGDecodes(t *testing.T) {
	for i, text := range texts {
		for _, scale := range []int{2, 8} {
			t.Run(fmt.Sprintf("%d/scale%d", i, scale), func(t *testing.T) {
				img, err := PNG(text, scale)
				if err != nil {
					t.Fatalf("PNG(%q, %d) = %v", text, scale, err)
				}
				cfg, err := png.DecodeConfig(bytes.NewReader(img))
				if err != nil {
					t.Fatalf("PNG(%q, %d) is not a PNG: %v", text, scale, err)
				}
				if want := (mustEncode(t, text).Size() + 2*QuietZone) * scale; cfg.Width != want || cfg.Height != want {
					t.Errorf("PNG(%q, %d) is %dx%d, want %dx%d", text, scale, cfg.Width, cfg.Height, want, want)
				}
				if got := zbarimg(t, img, "png"); got != text {
					t.Errorf("zbarimg(PNG(%q, %d)) = %q, want the text", text, scale, got)
				}
			})
		}
	}
}

func TestSVGDecodes(t *testing.T) {
	rsvg := testenv.LookPath(t, "rsvg-convert")
	for i, text := range texts {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			svg, err := SVG(text)
			if err != nil {
				t.Fatalf("SVG(%q) = %v", text, err)
			}
			d := xml.NewDecoder(bytes.NewReader(svg))
			for {
				_, err := d.Token()
				if err != nil {
					if err.Error() != "EOF" {
						t.Fatalf("SVG(%q) is not well-formed XML: %v", text, err)
					}
					break
				}
			}
			if !bytes.HasPrefix(svg, []byte("<svg ")) {
				t.Errorf("SVG(%q) starts %q, want an <svg> element", text, svg[:10])
			}
			cmd := exec.Command(rsvg, "--format=png", "--zoom=2")
			cmd.Stdin = bytes.NewReader(svg)
			img, err := cmd.Output()
			if err != nil {
				t.Fatalf("rsvg-convert: %v", err)
			}
			if got := zbarimg(t, img, "png"); got != text {
				t.Errorf("zbarimg(SVG(%q)) = %q, want the text", text, got)
			}
		})
	}
}

// TestEncoding checks what the package promises about the encoding:
// libqrencode's parameters (one byte-mode segment, level M, smallest
// version), read back with the library's own decoder.
func TestEncoding(t *testing.T) {
	for i, text := range texts {
		img, err := PNG(text, 4)
		if err != nil {
			t.Fatal(err)
		}
		m, err := png.Decode(bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		res, err := goqr.DecodeDetailed(m)
		if err != nil {
			t.Fatalf("text %d: DecodeDetailed = %v", i, err)
		}
		if res.Text != text {
			t.Errorf("text %d: decoded %q, want %q", i, res.Text, text)
		}
		if res.Ecc != goqr.Medium {
			t.Errorf("text %d: error correction %v, want Medium", i, res.Ecc)
		}
		// 0x4 is the byte mode indicator (ISO/IEC 18004 Table 2).
		if len(res.Segments) != 1 || res.Segments[0].Mode != 0x4 {
			t.Errorf("text %d: segments %+v, want one in byte mode", i, res.Segments)
		}
		// Byte mode at level M: the smallest version whose capacity holds the
		// text (ISO/IEC 18004 Table 7).
		capacityM := []int{0, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213}
		if v := res.Version; v < len(capacityM) && (len(text) > capacityM[v] || len(text) <= capacityM[v-1]) {
			t.Errorf("text %d (%d bytes): version %d, want the smallest that holds it", i, len(text), v)
		}
	}
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("a", 2400) // more than version 40-M's 2331 bytes
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Terminal empty", Terminal(&bytes.Buffer{}, "", ANSI)},
		{"Terminal long", Terminal(&bytes.Buffer{}, long, UTF8)},
		{"PNG scale 0", errOf(PNG("x", 0))},
		{"PNG scale 33", errOf(PNG("x", MaxScale+1))},
		{"PNG long", errOf(PNG(long, 1))},
		{"SVG long", errOf(SVG(long))},
	} {
		if tc.err == nil {
			t.Errorf("%s: err = nil, want an error", tc.name)
		} else if !strings.HasPrefix(tc.err.Error(), "qr: ") || strings.Contains(tc.err.Error(), "aaaa") {
			t.Errorf("%s: err = %q, want a qr: error that does not repeat the text", tc.name, tc.err)
		}
	}
}

func errOf(_ []byte, err error) error { return err }

// FuzzTerminal checks, for any text, that both terminal drawings are well
// framed and hold the same modules as the code, and that encoding fails
// only for texts too long for a QR code.
func FuzzTerminal(f *testing.F) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var a, u bytes.Buffer
		errA, errU := Terminal(&a, text, ANSI), Terminal(&u, text, UTF8)
		if (errA == nil) != (errU == nil) {
			t.Fatalf("ANSI error %v, UTF8 error %v", errA, errU)
		}
		if errA != nil {
			if text != "" && len(text) <= 2331 {
				t.Fatalf("Terminal(%d bytes) = %v", len(text), errA)
			}
			return
		}
		ga, err := parseTerminal(a.String(), ANSI)
		if err != nil {
			t.Fatal(err)
		}
		gu, err := parseTerminal(u.String(), UTF8)
		if err != nil {
			t.Fatal(err)
		}
		want := mustEncode(t, text)
		if !sameModules(ga, want) || !sameModules(gu, want) {
			t.Fatalf("drawings differ from the code")
		}
	})
}

func mustEncode(t testing.TB, text string) *goqr.QrCode {
	t.Helper()
	c, err := encode(text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sameModules(grid [][]bool, c *goqr.QrCode) bool {
	if len(grid) != c.Size() {
		return false
	}
	for y, row := range grid {
		if len(row) != c.Size() {
			return false
		}
		for x, d := range row {
			if d != c.Module(x, y) {
				return false
			}
		}
	}
	return true
}

func BenchmarkTerminal(b *testing.B) {
	for _, mode := range []Mode{ANSI, UTF8} {
		b.Run(mode.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Terminal(&bytes.Buffer{}, texts[1], mode); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPNG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PNG(texts[1], 8); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSVG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SVG(texts[1]); err != nil {
			b.Fatal(err)
		}
	}
}
