package mfa

import (
	"context"
	"fmt"
	"time"
)

// FileFactor is a second factor kept outside the store: each user's
// google-authenticator state file, verified and updated with the stock PAM
// module's rules (internal/userfile implements it). Service consults it
// only for users without a confirmed authenticator in the store, and never
// copies anything from it into the store.
type FileFactor interface {
	// HasFile reports whether the user has a file. It returns false only
	// when the file is known not to exist; any doubt (a directory that
	// cannot be searched, say) counts as a file, so that the attempt fails
	// closed when the code is checked.
	HasFile(ctx context.Context, name string) bool
	// VerifyCode checks code against the user's file at now and records
	// the attempt in the file as the stock module does (rate limit, reuse
	// list, scratch codes, skew, HOTP counter).
	VerifyCode(ctx context.Context, name, code string, now time.Time) FileVerdict
	// CheckFile tells whether the user has a file a sign-in can use: it
	// looks for the file and, when there is one, reads and parses it with
	// the checks of VerifyCode, changing nothing (the admin pages'
	// second factor column and the enforced groups' coverage).
	CheckFile(ctx context.Context, name string) FileState
}

// FileState is what FileFactor.CheckFile found of a user's file.
type FileState int

// The states of FileFactor.CheckFile.
const (
	// FileAbsent: the user has no file.
	FileAbsent FileState = iota
	// FileUsable: the file passes the checks of a sign-in (owner,
	// permissions, type, size) and parses.
	FileUsable
	// FileBroken: there is a file, or may be, but a sign-in cannot use
	// it; a sign-in asks for a code and refuses every one.
	FileBroken
)

// FileRateWaiter is a FileFactor that can tell how long a user whose
// file's RATE_LIMIT refused an attempt must wait (internal/userfile does);
// zero means it cannot tell.
type FileRateWaiter interface {
	RateLimitWait(ctx context.Context, name string, now time.Time) time.Duration
}

// FileVerdict is how a FileFactor judged one code.
type FileVerdict int

// The verdicts of FileFactor.VerifyCode.
const (
	// FileAccepted: the code (or a scratch code) was accepted and used up.
	FileAccepted FileVerdict = iota
	// FileMissing: the user has no file.
	FileMissing
	// FileWrongCode: the code matched nothing.
	FileWrongCode
	// FileMalformed: the answer held no code (not 6 or 8 digits).
	FileMalformed
	// FileReused: the code's time step was used already (DISALLOW_REUSE).
	FileReused
	// FileRateLimited: the file's RATE_LIMIT allows no attempt now.
	FileRateLimited
	// FileSkewed: the code is from a clock off by more than the window;
	// the skew was recorded for learning, as the stock module does.
	FileSkewed
	// FileUnusable: the file cannot be used (owner, permissions, type,
	// size, parse error) or the attempt's change could not be saved.
	FileUnusable
)

var fileVerdictNames = [...]string{"accepted", "missing", "wrong code", "malformed code", "code already used",
	"rate limited", "skewed clock", "file unusable"}

// String names the verdict, as logged and counted.
func (v FileVerdict) String() string {
	if v >= 0 && int(v) < len(fileVerdictNames) {
		return fileVerdictNames[v]
	}
	return fmt.Sprintf("FileVerdict(%d)", int(v))
}

// factor is where a user's second factor lives.
type factor int

const (
	factorNone  factor = iota // none: the password alone
	factorStore               // a confirmed authenticator in the store
	factorFile                // the user's state file
)

// factorOf finds the user's second factor: a confirmed authenticator in
// the store wins, then the user's file, else none.
func (s *Service) factorOf(ctx context.Context, u User) (factor, error) {
	has, err := s.HasTOTP(ctx, u.ID)
	switch {
	case err != nil:
		return factorNone, err
	case has:
		return factorStore, nil
	case s.files != nil && s.files.HasFile(ctx, u.Name):
		return factorFile, nil
	}
	return factorNone, nil
}

// HasSecondFactor reports whether the user has a second factor: a confirmed
// authenticator in the store or, when files are configured, a state file.
func (s *Service) HasSecondFactor(ctx context.Context, u User) (bool, error) {
	f, err := s.factorOf(ctx, u)
	return f != factorNone, err
}

// HasFile reports whether the user has a state file (false when files are
// not configured).
func (s *Service) HasFile(ctx context.Context, name string) bool {
	return s.files != nil && s.files.HasFile(ctx, name)
}
