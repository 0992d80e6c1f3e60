package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/internal/mfa"
	"github.com/otpgate/otpgate/internal/userfile"
	"github.com/otpgate/otpgate/otp"
)

const importUsage = `usage: otpgate import-google-authenticator [flags] [USER...|--all]

Copies users' google-authenticator state files (found by -user-file) into
the server's store, so that nobody scans a new QR code: the secret becomes
the user's TOTP authenticator (sealed like any other), the emergency scratch
codes become recovery codes that are typed as the 8 digits the user already
has, and the last time step used in the file is remembered, so that a code
used there is not accepted again. The file is read with the same owner and
permission checks as at sign-in, and is not changed; the secret is never
printed or logged.

Each user gets one line: imported, already imported (the store holds the
same secret), or not imported with the reason (no file, a counter-based
file, an unusable file, not a user of the store, TOTP set up already), and
a note for each option of the file the store cannot keep. A summary ends
the output. Exit status 0 when every user named (or, with --all, every
user that has a file) was imported or was already; 1 otherwise. Running it
again is safe.

Once imported, otpgate uses the store and no longer reads the file; the
stock PAM module (for SSH, say) still does, so a scratch code then works
once in each.

Settings (as for "otpgate serve"):
`

// importOutcome is what became of one user.
type importOutcome int

const (
	imported importOutcome = iota
	alreadyImported
	noFile
	notImported
)

// runImportGA is "otpgate import-google-authenticator".
func runImportGA(ctx context.Context, e env) error {
	var c Config
	fs := newFlagSet("import-google-authenticator", importUsage, &c)
	all := fs.Bool("all", false, "import every user of the store that has a file")
	names, err := parseWithNames(fs, &c, e, e.args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *all == (len(names) > 0) {
		return exitError{code: 2, msg: "import-google-authenticator: name users, or give --all"}
	}
	if c.UserFile == "" {
		return exitError{code: 2, msg: "import-google-authenticator: set -user-file (the path template of the files)"}
	}
	log := c.newLogger(e.stderr)
	src, err := c.userFiles(log)
	if err != nil {
		return exitError{code: 2, msg: err.Error()}
	}
	svc, store, err := openService(ctx, &c, log)
	if err != nil {
		return err
	}
	defer store.Close()
	if *all {
		users, err := store.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			names = append(names, u.Name)
		}
	}
	im := importer{svc: svc, src: src, out: e.stdout}
	var counts [notImported + 1]int
	failed := false
	for _, name := range names {
		o := im.user(ctx, mfa.NormalizeName(name))
		counts[o]++
		if o == notImported || o == noFile && !*all {
			failed = true
		}
	}
	fmt.Fprintf(e.stdout, "summary: %d imported, %d already imported, %d without a file, %d not imported\n",
		counts[imported], counts[alreadyImported], counts[noFile], counts[notImported])
	if failed {
		return exitError{code: 1}
	}
	return nil
}

// importer imports users' files into the store.
type importer struct {
	svc *mfa.Service
	src *userfile.Source
	out io.Writer
}

// user imports one user's file and prints what became of it.
func (im importer) user(ctx context.Context, name string) importOutcome {
	say := func(o importOutcome, format string, args ...any) importOutcome {
		fmt.Fprintf(im.out, "%s: %s\n", name, fmt.Sprintf(format, args...))
		return o
	}
	u, err := im.svc.UserByName(ctx, name)
	if errors.Is(err, mfa.ErrNotFound) {
		return say(notImported, "not imported: not a user of otpgate's store (add it with otpgate user add)")
	}
	if err != nil {
		return say(notImported, "not imported: %v", err)
	}
	f, path, err := im.src.Read(ctx, name)
	switch {
	case errors.Is(err, gafile.ErrNoFile):
		return say(noFile, "no file: %v", err)
	case err != nil:
		return say(notImported, "not imported: %v", err)
	case f.HOTPCounter() > 0:
		return say(notImported, "not imported: %s holds counter-based (HOTP) codes; the store keeps time-based codes only", path)
	case !f.TOTP():
		return say(notImported, "not imported: %s is neither time-based (TOTP_AUTH) nor counter-based", path)
	}
	step, err1 := f.StepSize()
	lastStep, err2 := lastUsedStep(f)
	if err := errors.Join(err1, err2); err != nil {
		return say(notImported, "not imported: %s: %v", path, err)
	}
	key := otp.Key{Secret: f.Secret(), Algorithm: otp.SHA1, Digits: 6, Period: time.Duration(step) * time.Second}
	same, err := im.svc.HasSecret(ctx, u.ID, key.Secret)
	if err != nil {
		return say(notImported, "not imported: %v", err)
	}
	if same {
		return say(alreadyImported, "already imported (the store holds the secret of %s)", path)
	}
	var scratch []string
	for _, c := range f.ScratchCodes() {
		scratch = append(scratch, strconv.Itoa(c))
	}
	err = im.svc.ImportTOTP(ctx, u, mfa.ImportedTOTP{Name: "Imported google-authenticator file", Key: key, LastStep: lastStep, ScratchCodes: scratch})
	if errors.Is(err, mfa.ErrConflict) {
		return say(notImported, "not imported: TOTP is set up in the store already (with another secret)")
	}
	if err != nil {
		return say(notImported, "not imported: %v", err)
	}
	say(imported, "imported from %s: time-based, %d-second steps, %d scratch codes as recovery codes", path, step, len(scratch))
	for _, n := range im.notKept(f) {
		say(imported, "note: %s", n)
	}
	return imported
}

// lastUsedStep is the latest step in the file's DISALLOW_REUSE list, 0
// when there is none.
func lastUsedStep(f *gafile.File) (uint64, error) {
	v, ok := f.Option("DISALLOW_REUSE")
	if !ok {
		return 0, nil
	}
	var last uint64
	for _, s := range strings.Fields(v) {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, errors.New("DISALLOW_REUSE: not a list of steps")
		}
		last = max(last, n)
	}
	return last, nil
}

// notKept lists the file's options that the store does not keep.
func (im importer) notKept(f *gafile.File) []string {
	var notes []string
	w := im.svc.Options().Window
	if size, err := f.WindowSize(); err == nil && size != w.Before+w.After+1 {
		notes = append(notes, fmt.Sprintf("WINDOW_SIZE %d not kept: otpgate accepts %d steps (-totp-skew)", size, w.Before+w.After+1))
	}
	if _, ok := f.Option("RATE_LIMIT"); ok {
		notes = append(notes, "RATE_LIMIT not kept: otpgate's own throttle applies (-throttle-account-*)")
	}
	if _, ok := f.Option("DISALLOW_REUSE"); !ok {
		notes = append(notes, "DISALLOW_REUSE was off: otpgate accepts each code once")
	}
	if s := f.TimeSkew(); s != 0 {
		notes = append(notes, fmt.Sprintf("TIME_SKEW %d not kept: otpgate uses its own clock with the window above", s))
	}
	for i := range 10 {
		if _, ok := f.Option("LAST" + strconv.Itoa(i)); ok {
			notes = append(notes, "grace period records (LASTn) not kept")
			break
		}
	}
	return notes
}
