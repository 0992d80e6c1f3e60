// Package userfile gives the otpgate server a second factor from users'
// google-authenticator state files (the JupyterLab way): it finds each
// user's file by a path template with ${USER} and ${HOME}, and checks and
// updates it with package gafile under the stock PAM module's rules, so
// that the module (for SSH, say) and otpgate share one file and each sees
// what the other consumed. It implements mfa.FileFactor.
//
// Like the module, a server running as root reads and rewrites a user's
// file as that user: for each attempt, one operating-system thread takes
// the user's file-system user and group ids (setfsuid, setfsgid), which
// drops root's power to bypass permissions for that thread, and the thread
// is discarded afterwards. The file must then be owned by the user (unless
// the owner check is off) and have no permission bits beyond the allowed
// mask (0600 by default); its replacement is created by the user. A server
// not running as root acts as itself: with the owner check on it can use
// only files of its own account.
//
// Secrets and codes never leave gafile: nothing here logs them or copies
// them elsewhere.
package userfile
