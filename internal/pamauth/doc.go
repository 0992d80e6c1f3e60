// Package pamauth is the "pam" first factor: it checks passwords against
// the system's PAM stack, so that a site whose machines sign people in
// with pam_unix (/etc/shadow) or pam_sss (SSSD, in front of LDAP or
// FreeIPA) gets the same accounts in otpgate, with their uid as the stable
// ID and their groups from NSS.
//
// # Why a helper process
//
// PAM is a C library that loads modules into the calling process. The
// server is built with CGO_ENABLED=0, so a Stack does not call libpam: it
// runs a small C program, otpgate-pam-check (pam/checkpass), once per
// check, writes it one request on standard input and reads one answer from
// standard output. This also keeps PAM's own habits out of the server:
// modules fork and exec (pam_unix runs unix_chkpwd when not root), sleep
// on failures, read files, keep state in globals and are not all safe to
// call from many goroutines; a module that leaks or crashes does so in a
// process that ends a few milliseconds later, and the server sees
// ErrUnavailable. The helper is killed (with its process group, so
// unix_chkpwd too) when Options.Timeout or the context ends first.
//
// # Root, or a setuid helper
//
// pam_unix checks a password against /etc/shadow, which only root can
// read; without root it asks unix_chkpwd, which checks only the calling
// user's own password. So to check other users' passwords the helper must
// run as root: either install it root-owned with mode 4750 and the group
// of the account the server runs as (chown root:otpgate, chmod 4750), or
// run the server as root. The setuid helper is the smaller risk, but it is
// a risk: whoever can run it can test any password of any account, root's
// included, against the PAM service it names, as fast as the stack allows
// (the tested service file uses nodelay: otpgate's throttling sits in the
// server, not in the helper). That is why the group restriction matters:
// mode 4750 lets only root and members of the server's group run it, so it
// is a password oracle for the otpgate account (or whoever takes it over)
// and not for every local user. Put nobody else in that group. The helper
// limits what it offers: it clears its environment, accepts only PAM
// services named "otpgate" or "otpgate-..." that have a file of their own
// in /etc/pam.d or /usr/lib/pam.d (never Linux-PAM's fallback "other"),
// answers only echo-off prompts and only with the password, never prints
// the password and wipes it before it exits. A server that runs as root
// needs none of this, and risks much more if it is ever taken over.
//
// # Answers
//
// Authenticate runs pam_authenticate and pam_acct_mgmt; Lookup only
// pam_acct_mgmt, plus the shadow lock ('!' before the hash, as passwd -l
// leaves it), which pam_unix's account part does not look at. The helper's
// answer maps to the error kinds of mfa.FirstFactor:
//
//   - PAM_USER_UNKNOWN: an error wrapping mfa.ErrNotFound, so the next
//     first factor is asked. pam_unix tells an unknown user from a wrong
//     password when it is the stack's only auth module, as in
//     examples/pam/otpgate (it returns PAM_USER_UNKNOWN, tested). A stack
//     that lets pam_deny decide when pam_unix fails, as Debian's
//     common-auth does ("@include common-auth"), gives PAM_AUTH_ERR for
//     both (tested too): an unknown user is then ErrBadCredentials and the
//     next first factor is not asked.
//   - Any other refusal (PAM_AUTH_ERR for a wrong password or an account
//     locked with passwd -l, PAM_ACCT_EXPIRED, PAM_NEW_AUTHTOK_REQD for a
//     password that must be changed, PAM_PERM_DENIED, PAM_MAXTRIES, ...):
//     mfa.ErrBadCredentials, with the PAM error name in the text.
//   - A stack that cannot decide (PAM_AUTHINFO_UNAVAIL when SSSD or its
//     directory is down, PAM_SERVICE_ERR, PAM_CONV_ERR when a module asks
//     something other than a password, PAM_AUTHINFO_UNAVAIL too when the
//     helper is neither setuid root nor run by root, for unix_chkpwd then
//     refuses to check another user's password), and a helper that is
//     missing, not executable, crashed, timed out or answered anything but
//     one well-formed answer: mfa.ErrUnavailable.
//
// An Identity has Source "pam", Name the account's name as NSS spells it
// (it must be the name asked for: a module that maps it to another account
// is refused), ExternalID the uid in decimal, DisplayName the first
// comma-separated field of the gecos (empty when it is not a valid display
// name, see mfa.ValidateDisplayName) and Groups the names of the account's
// groups from getgrouplist, sorted and without repeats, as the system
// spells them (never nil: the system always says; a gid without a name is
// left out). Names that mfa.ValidateName refuses (upper case among them:
// otpgate's names are lower case) are not asked of PAM and give
// mfa.ErrNotFound; an empty password gives mfa.ErrBadCredentials at once.
package pamauth
