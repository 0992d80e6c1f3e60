package otp_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
	"github.com/otpgate/otpgate/otp"
)

// crossCase is one random (secret, time, algorithm, digits, period) case.
type crossCase struct {
	Secret  string `json:"secret"` // base32
	Hex     string `json:"-"`
	Unix    int64  `json:"unix"`
	Alg     string `json:"alg"`
	Digits  int    `json:"digits"`
	Period  int    `json:"period"`
	Counter uint64 `json:"counter"` // used by the HOTP cases
	key     otp.Key
}

// crossCases returns n reproducible random cases. Secrets are 1 to 100
// bytes, so that keys longer than a hash block (hashed first) are covered.
func crossCases(n int, seed uint64, algs []otp.Algorithm) []crossCase {
	r := rand.New(rand.NewPCG(seed, 1))
	cases := make([]crossCase, n)
	for i := range cases {
		sec := make(otp.Secret, 1+r.IntN(100))
		for j := range sec {
			sec[j] = byte(r.Uint32())
		}
		alg := algs[r.IntN(len(algs))]
		c := crossCase{
			Secret:  sec.Base32(),
			Hex:     hex.EncodeToString(sec),
			Unix:    r.Int64N(4_000_000_000),
			Alg:     alg.String(),
			Digits:  6 + r.IntN(3),
			Period:  1 + r.IntN(120),
			Counter: r.Uint64N(1 << 40),
		}
		c.key = otp.Key{Secret: sec, Algorithm: alg, Digits: c.Digits, Period: time.Duration(c.Period) * time.Second}
		cases[i] = c
	}
	return cases
}

func TestOathtool(t *testing.T) {
	oathtool := testenv.LookPath(t, "oathtool")
	// oathtool's HOTP is SHA-1 only; its TOTP takes all three hashes.
	for i, c := range crossCases(1000, 4226, []otp.Algorithm{otp.SHA1, otp.SHA256, otp.SHA512}) {
		var args []string
		var want string
		if i%4 == 0 && c.Alg == "SHA1" {
			args = []string{"--hotp", "-d", strconv.Itoa(c.Digits), "-c", strconv.FormatUint(c.Counter, 10), c.Hex}
			want = c.key.HOTP(c.Counter)
		} else {
			args = []string{"--totp=" + strings.ToLower(c.Alg), "-d", strconv.Itoa(c.Digits),
				"-s", strconv.Itoa(c.Period) + "s", "-N", "@" + strconv.FormatInt(c.Unix, 10), c.Hex}
			want = c.key.TOTP(time.Unix(c.Unix, 0))
		}
		out, err := exec.Command(oathtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("oathtool %v: %v: %s", args, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("case %d: oathtool %v = %s, otp = %s", i, args, got, want)
		}
	}
}

// pyotpScript reads cases as JSON lines and prints pyotp's code for each.
const pyotpScript = `
import hashlib, json, sys, pyotp
for line in sys.stdin:
    c = json.loads(line)
    d = getattr(hashlib, c["alg"].lower())
    if c["period"] == 0:
        print(pyotp.HOTP(c["secret"], digits=c["digits"], digest=d).at(c["counter"]))
    else:
        print(pyotp.TOTP(c["secret"], digits=c["digits"], digest=d, interval=c["period"]).at(c["unix"]))
`

func TestPyotpCodes(t *testing.T) {
	python := testenv.Python(t, "pyotp")
	cases := crossCases(1000, 6238, []otp.Algorithm{otp.SHA1, otp.SHA256, otp.SHA512})
	var in bytes.Buffer
	var want []string
	for i, c := range cases {
		if i%4 == 0 {
			c.Period = 0 // an HOTP case
			want = append(want, c.key.HOTP(c.Counter))
		} else {
			want = append(want, c.key.TOTP(time.Unix(c.Unix, 0)))
		}
		line, _ := json.Marshal(c)
		in.Write(append(line, '\n'))
	}
	cmd := exec.Command(python, "-c", pyotpScript)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyotp: %v", err)
	}
	got := strings.Fields(string(out))
	if len(got) != len(want) {
		t.Fatalf("pyotp printed %d codes, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("case %d (%+v): pyotp = %s, otp = %s", i, cases[i], got[i], want[i])
		}
	}
}

// pyotpURIScript parses each line as a URI with pyotp and prints what it
// read; with "build" it builds URIs from JSON fields instead.
const pyotpURIScript = `
import json, sys, pyotp
for line in sys.stdin:
    if sys.argv[1] == "parse":
        o = pyotp.parse_uri(line.strip())
        print(json.dumps({"secret": o.secret, "name": o.name, "issuer": o.issuer, "digits": o.digits,
            "alg": o.digest().name.upper(), "period": getattr(o, "interval", 0),
            "counter": getattr(o, "initial_count", 0), "hotp": isinstance(o, pyotp.HOTP)}))
    else:
        c = json.loads(line)
        import hashlib
        d = getattr(hashlib, c["alg"].lower())
        if c["hotp"]:
            o = pyotp.HOTP(c["secret"], digits=c["digits"], digest=d, name=c["name"], issuer=c["issuer"] or None)
            print(o.provisioning_uri(initial_count=c["counter"]))
        else:
            o = pyotp.TOTP(c["secret"], digits=c["digits"], digest=d, interval=c["period"], name=c["name"], issuer=c["issuer"] or None)
            print(o.provisioning_uri())
`

// pyURI is what the pyotp script reads from or prints about a URI.
type pyURI struct {
	Secret  string `json:"secret"`
	Name    string `json:"name"`
	Issuer  string `json:"issuer"`
	Digits  int    `json:"digits"`
	Alg     string `json:"alg"`
	Period  int    `json:"period"`
	Counter uint64 `json:"counter"`
	HOTP    bool   `json:"hotp"`
}

// randomName returns a label part. pyotp's parser percent-decodes the whole
// URI before splitting it, so names with "&", "?", "=", "%", "/", "#" or
// "+" do not survive it whatever the encoder does; these stay out.
func randomName(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_@~!$'()*,;äöüéß日本"
	runes := []rune(alphabet)
	n := 1 + r.IntN(20)
	var b strings.Builder
	for i := range n {
		c := runes[r.IntN(len(runes))]
		if i == 0 && c == ' ' {
			c = 'x'
		}
		b.WriteRune(c)
	}
	return b.String()
}

func runPyotpURI(t *testing.T, python, mode string, in []byte) []string {
	t.Helper()
	cmd := exec.Command(python, "-c", pyotpURIScript, mode)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyotp %s: %v: %s", mode, err, stderr.Bytes())
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestPyotpURIs(t *testing.T) {
	python := testenv.Python(t, "pyotp")
	r := rand.New(rand.NewPCG(3986, 2))
	var ours []otp.URI
	var in bytes.Buffer
	for i, c := range crossCases(1000, 4648, []otp.Algorithm{otp.SHA1, otp.SHA256, otp.SHA512}) {
		u := otp.URI{Account: randomName(r), Key: c.key}
		if i%3 != 0 {
			u.Issuer = randomName(r)
		}
		if i%5 == 0 {
			u.Type, u.Counter, u.Key.Period = "hotp", c.Counter, 0
		}
		ours = append(ours, u)
		fmt.Fprintln(&in, u.Encode())
	}

	// Ours, read by pyotp.
	for i, line := range runPyotpURI(t, python, "parse", in.Bytes()) {
		var got pyURI
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		u := ours[i]
		want := pyURI{Secret: u.Key.Secret.Base32(), Name: u.Account, Issuer: u.Issuer, Digits: u.Key.Digits,
			Alg: u.Key.Algorithm.String(), Period: int(u.Key.Period / time.Second), Counter: u.Counter, HOTP: u.Type == "hotp"}
		if want.HOTP {
			got.Period = 0
		}
		if got != want {
			t.Errorf("pyotp read %s as\n%+v, want\n%+v", u.String(), got, want)
		}
	}

	// pyotp's, read by ours.
	var specs bytes.Buffer
	for _, u := range ours {
		p := pyURI{Secret: u.Key.Secret.Base32(), Name: u.Account, Issuer: u.Issuer, Digits: u.Key.Digits,
			Alg: u.Key.Algorithm.String(), Period: int(u.Key.Period / time.Second), Counter: u.Counter, HOTP: u.Type == "hotp"}
		line, _ := json.Marshal(p)
		specs.Write(append(line, '\n'))
	}
	for i, line := range runPyotpURI(t, python, "build", specs.Bytes()) {
		got, err := otp.ParseURI(line)
		if err != nil {
			t.Errorf("ParseURI(pyotp %q) = %v", line, err)
			continue
		}
		want := ours[i]
		if want.Type == "" {
			want.Type = "totp"
		}
		// pyotp writes defaults as absent parameters; compare effective values.
		if got.Type != want.Type || got.Issuer != want.Issuer || got.Account != want.Account ||
			!bytes.Equal(got.Key.Secret, want.Key.Secret) || got.Key.Algorithm != want.Key.Algorithm ||
			eff(got.Key.Digits, 6) != want.Key.Digits || got.Counter != want.Counter ||
			want.Type == "totp" && eff(int(got.Key.Period/time.Second), 30) != int(want.Key.Period/time.Second) {
			t.Errorf("ParseURI(pyotp %q) = %+v, want %+v", line, got, want)
		}
	}
}

func eff(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
