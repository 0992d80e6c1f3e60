/*
 * otpgate-pam-check: checks one password through the system's PAM stack,
 * or looks one account up, for otpgate's "pam" first factor
 * (internal/pamauth). otpgate is built without cgo; this small program is
 * the only part that links libpam, so that a PAM module that forks
 * (pam_unix runs unix_chkpwd), leaks or crashes does so outside the server.
 *
 * It takes no arguments and reads one request from standard input:
 *
 *   otpgate-pam-check/1 auth\n      or   otpgate-pam-check/1 lookup\n
 *   <len>:<service>\n
 *   <len>:<user>\n
 *   <len>:<password>\n               (auth only)
 *
 * then end of input. <len> is the field's length in bytes, in decimal
 * without leading zeros; the field holds exactly that many bytes and is
 * followed by a newline. The service is 1 to 64 bytes of [a-z0-9._-],
 * "otpgate" or starting with "otpgate-", and /etc/pam.d or /usr/lib/pam.d
 * must hold a file of that name (Linux-PAM would otherwise use "other").
 * The user is 1 to 256 bytes, none a control character, a space or ':',
 * not starting with '-'. The password is 1 to 512 bytes, none NUL. Any
 * other input is refused with exit status 2, a message on standard error
 * and nothing on standard output.
 *
 * It writes one answer to standard output and exits 0:
 *
 *   ok <uid> <ngroups>\n
 *   <len>:<user>\n                  the account's name as NSS gives it
 *   <len>:<display name>\n          the first comma-separated field of gecos
 *   <len>:<group>\n                 ngroups times, from getgrouplist
 *
 *   refused <REASON>\n              a PAM error name (PAM_AUTH_ERR, ...), or
 *                                   LOCKED: in lookup mode, a shadow hash
 *                                   starting with '!' (passwd -l)
 *   unavailable <REASON>\n          PAM or NSS could not decide
 *
 * REASON is 1 to 32 bytes of [A-Z_]. In auth mode it runs pam_start,
 * pam_authenticate (its conversation answers echo-off prompts with the
 * password, shows nothing and answers nothing else) and pam_acct_mgmt; in
 * lookup mode, NSS, pam_acct_mgmt and the shadow lock. The password is
 * never written anywhere and is wiped before exit. While PAM runs,
 * descriptor 1 points to standard error, so that a module printing to
 * stdout cannot forge or spoil the answer.
 *
 * Checking another user's password with pam_unix needs root: install it
 * root-owned, mode 4750, group of the otpgate server (see
 * pam/README-section.md). Exit status 1 means an internal failure (out of
 * memory, a write error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <shadow.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SERVICE 64
#define MAX_USER 256
#define MAX_PASSWORD 512
#define MAX_REQUEST 1024  /* more than the longest valid request */
#define MAX_GROUPS 1024   /* more gives "unavailable TOO_MANY_GROUPS" */
#define MAX_GROUP_NAME 256
#define MAX_DISPLAY 1024
#define MAX_CONV_CALLS 16 /* a stack that keeps asking is refused */
#ifndef NSS_BUF_MIN /* -DNSS_BUF_MIN=16 tests the growth on ERANGE */
#define NSS_BUF_MIN (16 * 1024)
#endif
#define NSS_BUF_MAX (16 * 1024 * 1024) /* a posixGroup with 100,000 members fits */

static const char magic[] = "otpgate-pam-check/1 ";

struct request {
	int lookup;
	char service[MAX_SERVICE + 1];
	char user[MAX_USER + 1];
	char password[MAX_PASSWORD + 1];
	size_t password_len;
};

static struct request req;
static unsigned char in[MAX_REQUEST + 1];

static void wipe(void)
{
	explicit_bzero(req.password, sizeof req.password);
	explicit_bzero(in, sizeof in);
}

static void __attribute__((noreturn, format(printf, 1, 2))) malformed(const char *format, ...)
{
	va_list ap;

	wipe();
	fputs("otpgate-pam-check: malformed request: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void __attribute__((noreturn)) fail(const char *what)
{
	wipe();
	fprintf(stderr, "otpgate-pam-check: %s\n", what);
	exit(1);
}

/* field parses "<len>:<bytes>\n" at *pos into dst (NUL-terminated),
 * refusing a length above max. */
static size_t field(const unsigned char *buf, size_t n, size_t *pos, const char *name, char *dst, size_t max)
{
	size_t p = *pos, len = 0, digits = 0;

	while (p < n && buf[p] >= '0' && buf[p] <= '9') {
		if (digits == 0 && buf[p] == '0' && p + 1 < n && buf[p + 1] >= '0' && buf[p + 1] <= '9')
			malformed("%s: length with a leading zero", name);
		len = len * 10 + (size_t)(buf[p] - '0');
		if (len > max)
			malformed("%s: longer than %zu bytes", name, max);
		p++;
		digits++;
	}
	if (digits == 0 || p >= n || buf[p] != ':')
		malformed("%s: want <length>:", name);
	p++;
	if (len > n - p || n - p - len < 1 || buf[p + len] != '\n')
		malformed("%s: want %zu bytes and a newline", name, len);
	memcpy(dst, buf + p, len);
	dst[len] = '\0';
	*pos = p + len + 1;
	return len;
}

static void read_request(void)
{
	size_t n = 0, pos, len;
	ssize_t r;

	while (n < sizeof in) {
		r = read(STDIN_FILENO, in + n, sizeof in - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("reading standard input failed");
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > MAX_REQUEST)
		malformed("longer than %d bytes", MAX_REQUEST);

	pos = sizeof magic - 1;
	if (n < pos || memcmp(in, magic, pos) != 0)
		malformed("want \"%s\" first", magic);
	if (n - pos >= 5 && memcmp(in + pos, "auth\n", 5) == 0) {
		pos += 5;
	} else if (n - pos >= 7 && memcmp(in + pos, "lookup\n", 7) == 0) {
		req.lookup = 1;
		pos += 7;
	} else {
		malformed("want mode auth or lookup");
	}

	len = field(in, n, &pos, "service", req.service, MAX_SERVICE);
	if (len == 0)
		malformed("service: empty");
	for (size_t i = 0; i < len; i++) {
		char c = req.service[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			malformed("service: only a-z, 0-9, '.', '_' and '-'");
	}
	if (strcmp(req.service, "otpgate") != 0 && strncmp(req.service, "otpgate-", 8) != 0)
		malformed("service: must be otpgate or start with otpgate-");

	len = field(in, n, &pos, "user", req.user, MAX_USER);
	if (len == 0)
		malformed("user: empty");
	if (req.user[0] == '-')
		malformed("user: starts with '-'");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)req.user[i];
		if (c <= ' ' || c == 0x7f || c == ':')
			malformed("user: holds a control character, a space or ':'");
	}

	if (!req.lookup) {
		req.password_len = field(in, n, &pos, "password", req.password, MAX_PASSWORD);
		if (req.password_len == 0)
			malformed("password: empty");
		if (memchr(req.password, '\0', req.password_len) != NULL)
			malformed("password: holds NUL");
	}
	if (pos != n)
		malformed("%zu bytes after the last field", n - pos);
	explicit_bzero(in, sizeof in);
}

/* The answer is built in out and written at once. */
static char out[8 + MAX_USER + MAX_DISPLAY + MAX_GROUPS * (MAX_GROUP_NAME + 8) + 64];
static size_t outlen;

static void put(const char *s, size_t n)
{
	if (n > sizeof out - outlen)
		fail("answer too long");
	memcpy(out + outlen, s, n);
	outlen += n;
}

static void putfield(const char *s, size_t n)
{
	char len[24];

	snprintf(len, sizeof len, "%zu:", n);
	put(len, strlen(len));
	put(s, n);
	put("\n", 1);
}

/* answer_fd is where the answer goes: standard output as the helper got
 * it. Descriptor 1 itself points to standard error while PAM runs, so
 * that a module printing to stdout cannot write into the answer. */
static int answer_fd = STDOUT_FILENO;

static void __attribute__((noreturn)) answer(const char *kind, const char *reason)
{
	size_t done = 0;
	ssize_t w;

	wipe();
	if (kind != NULL) {
		outlen = 0;
		put(kind, strlen(kind));
		put(" ", 1);
		put(reason, strlen(reason));
		put("\n", 1);
	}
	while (done < outlen) {
		w = write(answer_fd, out + done, outlen - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("writing the answer failed");
		done += (size_t)w;
	}
	exit(0);
}

static const char *pam_name(int code)
{
	switch (code) {
#define N(c) \
	case c: \
		return #c
		N(PAM_SUCCESS);
		N(PAM_OPEN_ERR);
		N(PAM_SYMBOL_ERR);
		N(PAM_SERVICE_ERR);
		N(PAM_SYSTEM_ERR);
		N(PAM_BUF_ERR);
		N(PAM_PERM_DENIED);
		N(PAM_AUTH_ERR);
		N(PAM_CRED_INSUFFICIENT);
		N(PAM_AUTHINFO_UNAVAIL);
		N(PAM_USER_UNKNOWN);
		N(PAM_MAXTRIES);
		N(PAM_NEW_AUTHTOK_REQD);
		N(PAM_ACCT_EXPIRED);
		N(PAM_SESSION_ERR);
		N(PAM_CRED_UNAVAIL);
		N(PAM_CRED_EXPIRED);
		N(PAM_CRED_ERR);
		N(PAM_NO_MODULE_DATA);
		N(PAM_CONV_ERR);
		N(PAM_AUTHTOK_ERR);
		N(PAM_AUTHTOK_RECOVERY_ERR);
		N(PAM_AUTHTOK_LOCK_BUSY);
		N(PAM_AUTHTOK_DISABLE_AGING);
		N(PAM_TRY_AGAIN);
		N(PAM_IGNORE);
		N(PAM_ABORT);
		N(PAM_AUTHTOK_EXPIRED);
		N(PAM_MODULE_UNKNOWN);
		N(PAM_BAD_ITEM);
		N(PAM_CONV_AGAIN);
		N(PAM_INCOMPLETE);
#undef N
	}
	return "PAM_UNKNOWN_ERROR";
}

/* pam_fail answers a PAM failure: the codes that say the stack could not
 * decide (a module or its backend missing or down, a stack that asks what
 * only a person at a terminal could answer) are "unavailable", the others
 * (wrong password, unknown user, expired, denied) "refused". */
static void __attribute__((noreturn)) pam_fail(pam_handle_t *pamh, int code)
{
	const char *kind = "refused";

	switch (code) {
	case PAM_OPEN_ERR:
	case PAM_SYMBOL_ERR:
	case PAM_SERVICE_ERR:
	case PAM_SYSTEM_ERR:
	case PAM_BUF_ERR:
	case PAM_AUTHINFO_UNAVAIL:
	case PAM_CONV_ERR:
	case PAM_TRY_AGAIN:
	case PAM_ABORT:
	case PAM_MODULE_UNKNOWN:
	case PAM_BAD_ITEM:
	case PAM_CONV_AGAIN:
	case PAM_INCOMPLETE:
	case PAM_IGNORE:
		kind = "unavailable";
		break;
	}
	if (pamh != NULL)
		pam_end(pamh, code);
	answer(kind, pam_name(code));
}

static int conv_calls;

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;

	(void)data;
	if (n <= 0 || n > PAM_MAX_NUM_MSG || ++conv_calls > MAX_CONV_CALLS)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (req.lookup)
				goto refuse;
			r[i].resp = strndup(req.password, req.password_len);
			if (r[i].resp == NULL)
				goto refuse;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break; /* nobody to show it to */
		default:
			goto refuse; /* an echo-on prompt: not ours to answer */
		}
	}
	*resp = r;
	return PAM_SUCCESS;
refuse:
	for (int i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

static int service_file_exists(const char *service)
{
	static const char *const dirs[] = {"/etc/pam.d/", "/usr/lib/pam.d/"};
	char path[64 + MAX_SERVICE];
	struct stat st;

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s%s", dirs[i], service);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 1;
	}
	return 0;
}

/* A buffer for the *_r lookups of NSS, grown while they say ERANGE: a
 * group of a big cluster (a posixGroup listing every user) needs far
 * more than sysconf(_SC_GETGR_R_SIZE_MAX) says. */
struct nssbuf {
	char *p;
	size_t n;
};

/* grow doubles b, or answers unavailable when it would pass NSS_BUF_MAX;
 * a first call gives NSS_BUF_MIN. */
static void grow(struct nssbuf *b)
{
	size_t n = b->n == 0 ? NSS_BUF_MIN : b->n * 2;
	char *p;

	if (n > NSS_BUF_MAX)
		answer("unavailable", "NSS_ENTRY_TOO_BIG");
	p = realloc(b->p, n);
	if (p == NULL)
		fail("out of memory");
	b->p = p;
	b->n = n;
}

static struct nssbuf pwbuf, grbuf, spbuf;

/* find_user answers unavailable when NSS fails, and returns NULL when it
 * has no entry for name. */
static struct passwd *find_user(const char *name, struct passwd *pw)
{
	struct passwd *r = NULL;
	int e;

	if (pwbuf.n == 0)
		grow(&pwbuf);
	while ((e = getpwnam_r(name, pw, pwbuf.p, pwbuf.n, &r)) == ERANGE)
		grow(&pwbuf);
	if (e != 0)
		answer("unavailable", "NSS_ERROR");
	return r;
}

static struct group *find_group(gid_t gid, struct group *gr)
{
	struct group *r = NULL;
	int e;

	if (grbuf.n == 0)
		grow(&grbuf);
	while ((e = getgrgid_r(gid, gr, grbuf.p, grbuf.n, &r)) == ERANGE)
		grow(&grbuf);
	if (e != 0)
		answer("unavailable", "NSS_ERROR");
	return r;
}

/* locked reports whether name's shadow hash starts with '!' (passwd -l);
 * no shadow entry, or none readable (not root, an SSSD user), is not
 * locked. */
static int locked(const char *name)
{
	struct spwd sp, *r = NULL;
	int e;

	if (spbuf.n == 0)
		grow(&spbuf);
	while ((e = getspnam_r(name, &sp, spbuf.p, spbuf.n, &r)) == ERANGE)
		grow(&spbuf);
	return e == 0 && r != NULL && sp.sp_pwdp != NULL && sp.sp_pwdp[0] == '!';
}

static char names[MAX_GROUPS * (MAX_GROUP_NAME + 1)];

/* identity answers ok with name's uid, display name and groups from NSS. */
static void __attribute__((noreturn)) identity(const char *name)
{
	struct passwd pw;
	gid_t gids[MAX_GROUPS];
	int ngids = MAX_GROUPS, named = 0;
	size_t glen[MAX_GROUPS];
	char *gname[MAX_GROUPS];
	char head[64];
	size_t dlen;

	if (find_user(name, &pw) == NULL)
		answer("unavailable", "NSS_NO_ENTRY"); /* PAM knows it, NSS does not */
	if (strlen(pw.pw_name) > MAX_USER)
		answer("unavailable", "NSS_NAME_TOO_LONG");
	if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &ngids) < 0)
		answer("unavailable", "TOO_MANY_GROUPS");

	/* Group names are copied into names one after the other; a gid
	 * without a name is left out (a number is not a group name). */
	size_t used = 0;
	for (int i = 0; i < ngids; i++) {
		struct group gr;

		if (find_group(gids[i], &gr) == NULL)
			continue;
		size_t l = strlen(gr.gr_name);
		if (l == 0)
			continue;
		if (l > MAX_GROUP_NAME || l + 1 > sizeof names - used)
			answer("unavailable", "GROUP_NAME_TOO_LONG");
		memcpy(names + used, gr.gr_name, l + 1);
		gname[named] = names + used;
		glen[named] = l;
		named++;
		used += l + 1;
	}

	dlen = strcspn(pw.pw_gecos != NULL ? pw.pw_gecos : "", ",");
	if (dlen > MAX_DISPLAY)
		dlen = 0; /* no display name rather than a cut one */

	outlen = 0;
	snprintf(head, sizeof head, "ok %lu %d\n", (unsigned long)pw.pw_uid, named);
	put(head, strlen(head));
	putfield(pw.pw_name, strlen(pw.pw_name));
	putfield(dlen > 0 ? pw.pw_gecos : "", dlen);
	for (int i = 0; i < named; i++)
		putfield(gname[i], glen[i]);
	answer(NULL, NULL);
}

int main(int argc, char **argv)
{
	static const struct rlimit nocore = {0, 0};
	struct pam_conv conv = {conversation, NULL};
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	char user[MAX_USER + 1];
	int code;

	(void)argv;
	/* Running setuid root for a caller who controls the environment: no
	 * core file holds the password, no variable reaches a module. */
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (clearenv() != 0 || setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) != 0)
		fail("cannot clear the environment");
	signal(SIGPIPE, SIG_IGN);
	if (argc != 1) {
		fputs("usage: otpgate-pam-check < request (see the source for its form)\n", stderr);
		return 2;
	}
	read_request();
	answer_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (answer_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		fail("cannot set up the answer's descriptor");

	if (!service_file_exists(req.service))
		answer("unavailable", "NO_SERVICE_FILE");

	if (req.lookup) {
		struct passwd pw;

		if (find_user(req.user, &pw) == NULL)
			answer("refused", "PAM_USER_UNKNOWN");
		/* passwd -l puts '!' before the hash; pam_unix's account part
		 * does not look at it (only its auth part fails), so lookup
		 * does, as sshd does for key logins. Unreadable shadow (not
		 * root, or an SSSD user): PAM's account part decides alone. */
		if (locked(req.user))
			answer("refused", "LOCKED");
	}

	code = pam_start(req.service, req.user, &conv, &pamh);
	if (code != PAM_SUCCESS)
		pam_fail(NULL, code);
	if (!req.lookup) {
		code = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
		explicit_bzero(req.password, sizeof req.password);
		if (code != PAM_SUCCESS)
			pam_fail(pamh, code);
	}
	code = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (code != PAM_SUCCESS)
		pam_fail(pamh, code);
	/* A module may have changed the name (pam_sss canonicalizes it): the
	 * identity is the account PAM decided on, and otpgate compares. */
	code = pam_get_item(pamh, PAM_USER, &item);
	if (code != PAM_SUCCESS || item == NULL || strlen(item) > MAX_USER)
		pam_fail(pamh, code != PAM_SUCCESS ? code : PAM_SYSTEM_ERR);
	memcpy(user, item, strlen(item) + 1);
	pam_end(pamh, PAM_SUCCESS);
	identity(user);
}
