// Package qr draws QR codes: in a terminal the way Google's
// google-authenticator command does, as a PNG image, and as inline SVG for
// web pages. It is the project's one importer of a QR library.
//
// Every code is encoded as the stock command encodes key URIs with
// libqrencode: one 8-bit (byte mode) segment, error-correction level M
// (15% of the codewords can be restored), the smallest version that holds
// the text, and the mask with the lowest penalty score (ISO/IEC 18004 §7.8).
//
// The text of a QR code is usually an otpauth:// URI, which holds a secret:
// callers must not log it, and this package never puts it in an error.
package qr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"

	goqr "github.com/piglig/go-qr"
)

// Mode selects how Terminal draws a code.
type Mode int

const (
	// ANSI draws each module as two spaces, dark ones in reverse video,
	// black on grey with a quiet zone of two modules. It is the default of
	// google-authenticator, and works on any terminal with ANSI colours.
	ANSI Mode = iota
	// UTF8 draws two module rows per text row with the half-block
	// characters U+2580, U+2584 and the full block U+2588, black on grey
	// with a quiet zone of one text row and two columns: a quarter of the
	// area of ANSI, for terminals whose fonts draw these blocks well.
	UTF8
)

// String returns the mode's name as google-authenticator's -Q option spells
// it.
func (m Mode) String() string {
	switch m {
	case ANSI:
		return "ANSI"
	case UTF8:
		return "UTF8"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// QuietZone is the light margin PNG and SVG draw around a code, in modules:
// the four that ISO/IEC 18004 §6.3.8 requires.
const QuietZone = 4

// MaxScale bounds the pixels per module of PNG, so that a caller's mistake
// cannot allocate a huge image (a version 40 code at scale 32 is 5920
// pixels wide).
const MaxScale = 32

// ANSI escape sequences of google-authenticator's terminal drawing: black
// text on a grey background (so that the code reads the same on light and
// dark terminals), reverse video for dark modules, and reset at the end of
// each line.
const (
	blackOnGrey = "\x1b[30;47;27m"
	reverseOn   = "\x1b[7m"
	reverseOff  = "\x1b[27m"
	reset       = "\x1b[0m"
)

// Half-block characters of the UTF8 mode.
const (
	fullBlock  = "\u2588" // both modules dark
	upperHalf  = "\u2580" // upper module dark
	lowerHalf  = "\u2584" // lower module dark
	bothLight  = " "
	utf8Border = 2 // columns left and right of the code
)

// encode makes the QR code of text: byte mode, level M, any version, best
// mask, no error-correction boost. The code's Module(x, y) reports a dark
// module at column x, row y, and false outside the code (libqrencode's QRcode_encodeString8bit
// with QR_ECLEVEL_M, as google-authenticator calls it).
func encode(text string) (*goqr.QrCode, error) {
	if text == "" {
		return nil, errors.New("qr: empty text")
	}
	seg, err := goqr.MakeBytes([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("qr: %d bytes: %w", len(text), err)
	}
	q, err := goqr.EncodeSegments([]*goqr.QrSegment{seg}, goqr.Medium, goqr.MinVersion, goqr.MaxVersion, -1, false)
	if err != nil {
		if errors.Is(err, goqr.ErrDataTooLong) {
			return nil, fmt.Errorf("qr: text of %d bytes is too long for a QR code", len(text))
		}
		return nil, fmt.Errorf("qr: encoding %d bytes: %w", len(text), err)
	}
	return q, nil
}

// Terminal draws the QR code of text on w for a terminal, exactly as
// google-authenticator 1.08 does in the given mode, and returns the first
// error of encoding or writing.
func Terminal(w io.Writer, text string, mode Mode) error {
	c, err := encode(text)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	switch mode {
	case ANSI:
		drawANSI(&b, c)
	case UTF8:
		drawUTF8(&b, c)
	default:
		return fmt.Errorf("qr: unknown terminal mode %d", int(mode))
	}
	_, err = w.Write(b.Bytes())
	return err
}

// drawANSI writes two border lines, one line per module row with four
// spaces of border each side, and two border lines; every module is two
// spaces, and reverse video is switched on at the start of each run of
// dark modules and off after it.
func drawANSI(b *bytes.Buffer, c *goqr.QrCode) {
	n := c.Size()
	border := blackOnGrey + strings.Repeat("  ", n+4) + reset + "\n"
	b.WriteString(border)
	b.WriteString(border)
	for y := range n {
		b.WriteString(blackOnGrey + "    ")
		dark := false
		for x := range n {
			if d := c.Module(x, y); d != dark {
				if d {
					b.WriteString(reverseOn)
				} else {
					b.WriteString(reverseOff)
				}
				dark = d
			}
			b.WriteString("  ")
		}
		if dark {
			b.WriteString(reverseOff)
		}
		b.WriteString("    " + reset + "\n")
	}
	b.WriteString(border)
	b.WriteString(border)
}

// drawUTF8 writes a border line, one line per two module rows (the last
// one half empty when the size is odd, as it always is) with two border
// columns each side, and a border line.
func drawUTF8(b *bytes.Buffer, c *goqr.QrCode) {
	n := c.Size()
	border := blackOnGrey + strings.Repeat(" ", n+2*utf8Border) + reset + "\n"
	b.WriteString(border)
	for y := 0; y < n; y += 2 {
		b.WriteString(blackOnGrey + "  ")
		for x := range n {
			top, bottom := c.Module(x, y), c.Module(x, y+1)
			switch {
			case top && bottom:
				b.WriteString(fullBlock)
			case top:
				b.WriteString(upperHalf)
			case bottom:
				b.WriteString(lowerHalf)
			default:
				b.WriteString(bothLight)
			}
		}
		b.WriteString("  " + reset + "\n")
	}
	b.WriteString(border)
}

// PNG returns the QR code of text as a black-on-white PNG image with a
// quiet zone of QuietZone modules, scale pixels per module (1 to
// MaxScale).
func PNG(text string, scale int) ([]byte, error) {
	if scale < 1 || scale > MaxScale {
		return nil, fmt.Errorf("qr: scale must be 1 to %d pixels per module, not %d", MaxScale, scale)
	}
	c, err := encode(text)
	if err != nil {
		return nil, err
	}
	side := (c.Size() + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range c.Size() {
		for x := range c.Size() {
			if !c.Module(x, y) {
				continue
			}
			top, left := (y+QuietZone)*scale, (x+QuietZone)*scale
			for py := top; py < top+scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := left; px < left+scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("qr: encoding PNG: %w", err)
	}
	return b.Bytes(), nil
}

// svgModule is the size of a module in the SVG's default width and height,
// in CSS pixels; a page can scale the image with CSS, since it has a
// viewBox in modules.
const svgModule = 4

// SVG returns the QR code of text as an SVG element to put inline in an
// HTML page: black modules on a white square with a quiet zone of
// QuietZone modules, one module per user unit of its viewBox, shape
// rendering crisp, and a default size of four CSS pixels per module. It has
// no XML declaration.
func SVG(text string) ([]byte, error) {
	c, err := encode(text)
	if err != nil {
		return nil, err
	}
	n := c.Size() + 2*QuietZone
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img" aria-label="QR code">`, n, n, n*svgModule, n*svgModule)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	// One rectangle per horizontal run of dark modules.
	for y := range c.Size() {
		for x := 0; x < c.Size(); {
			if !c.Module(x, y) {
				x++
				continue
			}
			start := x
			for x < c.Size() && c.Module(x, y) {
				x++
			}
			fmt.Fprintf(w, "M%d %dh%dv1h-%dz", start+QuietZone, y+QuietZone, x-start, x-start)
		}
	}
	w.WriteString(`"/></svg>`)
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("qr: writing SVG: %w", err)
	}
	return b.Bytes(), nil
}
