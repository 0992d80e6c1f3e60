/*
 * pam_otpgate: a PAM module that asks an otpgate server for the second
 * factor. See pam/doc.go for the design; in short, this module does no
 * network I/O and holds no Go: it asks the code, then runs the static helper
 * otpgate-pam-client with fork/execve, writes one length-prefixed request to
 * its stdin, reads one answer line from its stdout under a poll() deadline,
 * and kills (SIGKILL) and reaps the helper when the deadline passes.
 * Everything but a well-formed "ok" is a refusal.
 *
 * Arguments (PAM config line):
 *   url=URL            the otpgate server (passed to the helper)
 *   cafile=FILE        CA certificates for https (passed to the helper)
 *   tokenfile=FILE     the host token file (passed to the helper); also
 *                      spelt token_file=, as "otpgate host add" prints it
 *   timeout=N          whole-call deadline: N seconds, or Nms; default 3s
 *   helper=PATH        default /usr/lib/otpgate/otpgate-pam-client
 *   prompt=TEXT        default "Verification code: " (hidden prompt)
 *   optional           a user with no second factor gets PAM_IGNORE
 *   use_first_pass     take the code from PAM_AUTHTOK, never prompt
 *   try_first_pass     take PAM_AUTHTOK if set, else prompt
 *   pass_password      also send PAM_AUTHTOK as the password (the server
 *                      must allow a password check for this host)
 *
 * Wire format, module to helper (stdin), strict: the line "otpgate-pam 1",
 * then the fields op, user, code, service, rhost, tty and, only with
 * pass_password, password, in that order, each as "NAME LEN\n" + LEN bytes +
 * "\n" (LEN decimal, at most 4 digits, no leading zero), then "end\n".
 * Helper to module (stdout): one line "RESULT[ MESSAGE]\n" of at most
 * ANSWER_MAX bytes; RESULT is one of the words in results[] below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define DEFAULT_HELPER "/usr/lib/otpgate/otpgate-pam-client"
#define DEFAULT_PROMPT "Verification code: "
#define DEFAULT_TIMEOUT_MS 3000
#define MAX_TIMEOUT_MS 60000
#define FIELD_MAX 1024   /* longest field the module sends; the helper bounds further */
#define REQUEST_MAX 8192 /* 7 fields of FIELD_MAX plus names: fits a pipe buffer */
#define ANSWER_MAX 512
#define ARG_MAX_LEN 4096
#define EXIT_GRACE_MS 100 /* how long a helper that has answered may take to exit */

struct options {
	const char *url;
	const char *cafile;
	const char *tokenfile;
	const char *helper;
	const char *prompt;
	long timeout_ms;
	int optional;
	int use_first_pass;
	int try_first_pass;
	int pass_password;
};

enum result {
	ANS_OK,
	ANS_NO_SECOND_FACTOR,
	ANS_CODE_REQUIRED,
	ANS_CODE_WRONG,
	ANS_DENIED,
	ANS_THROTTLED,
	ANS_INVALID,
	ANS_UNAVAILABLE,
	ANS_NONE /* the module's own failure: no answer */
};

static const char *const results[] = {
	[ANS_OK] = "ok",
	[ANS_NO_SECOND_FACTOR] = "no_second_factor",
	[ANS_CODE_REQUIRED] = "code_required",
	[ANS_CODE_WRONG] = "code_wrong",
	[ANS_DENIED] = "denied",
	[ANS_THROTTLED] = "throttled",
	[ANS_INVALID] = "invalid",
	[ANS_UNAVAILABLE] = "unavailable",
};

/* parse_timeout reads "N" or "Ns" (seconds) or "Nms"; -1 when malformed. */
static long parse_timeout(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || v < 0 || v > MAX_TIMEOUT_MS)
		return -1;
	if (strcmp(end, "ms") == 0)
		return v;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return v > MAX_TIMEOUT_MS / 1000 ? -1 : v * 1000;
	return -1;
}

static int parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->helper = DEFAULT_HELPER;
	o->prompt = DEFAULT_PROMPT;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strlen(a) > ARG_MAX_LEN) {
			pam_syslog(pamh, LOG_ERR, "argument %d longer than %d bytes", i + 1, ARG_MAX_LEN);
			return -1;
		}
		if (strncmp(a, "url=", 4) == 0)
			o->url = a + 4;
		else if (strncmp(a, "cafile=", 7) == 0)
			o->cafile = a + 7;
		else if (strncmp(a, "tokenfile=", 10) == 0)
			o->tokenfile = a + 10;
		else if (strncmp(a, "token_file=", 11) == 0) /* the spelling "otpgate host add" prints */
			o->tokenfile = a + 11;
		else if (strncmp(a, "helper=", 7) == 0)
			o->helper = a + 7;
		else if (strncmp(a, "prompt=", 7) == 0)
			o->prompt = a + 7;
		else if (strncmp(a, "timeout=", 8) == 0) {
			o->timeout_ms = parse_timeout(a + 8);
			if (o->timeout_ms <= 0) {
				pam_syslog(pamh, LOG_ERR, "bad timeout \"%s\" (N seconds or Nms, at most 60s)", a + 8);
				return -1;
			}
		} else if (strcmp(a, "optional") == 0)
			o->optional = 1;
		else if (strcmp(a, "use_first_pass") == 0)
			o->use_first_pass = 1;
		else if (strcmp(a, "try_first_pass") == 0)
			o->try_first_pass = 1;
		else if (strcmp(a, "pass_password") == 0)
			o->pass_password = 1;
		else {
			pam_syslog(pamh, LOG_ERR, "unknown argument \"%s\"", a);
			return -1;
		}
	}
	if (o->pass_password && (o->use_first_pass || o->try_first_pass)) {
		/* Both would read PAM_AUTHTOK: the password would go as the code. */
		pam_syslog(pamh, LOG_ERR, "pass_password cannot go with use_first_pass or try_first_pass");
		return -1;
	}
	if (o->helper[0] != '/') {
		pam_syslog(pamh, LOG_ERR, "helper=%s is not an absolute path", o->helper);
		return -1;
	}
	return 0;
}

/* A growing request buffer; any overflow marks it bad. */
struct buf {
	char data[REQUEST_MAX];
	size_t len;
	int bad;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->bad || n > sizeof(b->data) - b->len) {
		b->bad = 1;
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_field(struct buf *b, const char *name, const char *value)
{
	char head[64];
	size_t n = value ? strlen(value) : 0;
	int h;

	if (n > FIELD_MAX) {
		b->bad = 1;
		return;
	}
	h = snprintf(head, sizeof(head), "%s %zu\n", name, n);
	if (h < 0 || (size_t)h >= sizeof(head)) {
		b->bad = 1;
		return;
	}
	put(b, head, (size_t)h);
	put(b, value ? value : "", n);
	put(b, "\n", 1);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* reap waits for the child until deadline, then kills it and waits again. */
static void reap(pid_t pid, long deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return; /* reaped, or the application reaped it (ECHILD) */
		if (r == 0 && now_ms() >= deadline)
			break;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * write_all writes the request with SIGPIPE blocked (a helper that dies
 * early must not kill sshd), consuming a SIGPIPE it caused.
 */
static int write_all(int fd, const char *p, size_t n, long deadline)
{
	sigset_t pipe_set, old, pending;
	int rc = 0, was_pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	while (n > 0) {
		long left = deadline - now_ms();
		struct pollfd pfd = {fd, POLLOUT, 0};
		if (left <= 0) {
			rc = -1;
			errno = ETIMEDOUT;
			break;
		}
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			rc = -1;
			if (pr == 0)
				errno = ETIMEDOUT;
			break;
		}
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -1;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	if (rc < 0 && errno == EPIPE && !was_pending) {
		int saved = errno;
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
		errno = saved;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * call_helper runs the helper, sends req and reads one answer line into ans
 * (NUL-terminated, newline removed). It returns 0, or -1 with why set.
 */
static int call_helper(const struct options *o, const struct buf *req, char *ans, size_t ans_size,
		       const char **why)
{
	char timeout_arg[32], url_arg[ARG_MAX_LEN + 8], cafile_arg[ARG_MAX_LEN + 8], token_arg[ARG_MAX_LEN + 16];
	char *argv[6];
	char *envp[] = {NULL};
	int argc = 0, in[2], out[2], rc = -1;
	long deadline = now_ms() + o->timeout_ms;
	long margin = o->timeout_ms / 4 > 500 ? 500 : o->timeout_ms / 4;
	struct sigaction dfl, old_chld;
	size_t got = 0;
	pid_t pid;

	/* Everything the child needs is built before fork: after fork it only
	 * calls async-signal-safe functions. */
	argv[argc++] = (char *)o->helper;
	snprintf(timeout_arg, sizeof(timeout_arg), "-timeout=%ldms", o->timeout_ms - margin);
	argv[argc++] = timeout_arg;
	if (o->url) {
		snprintf(url_arg, sizeof(url_arg), "-url=%s", o->url);
		argv[argc++] = url_arg;
	}
	if (o->cafile) {
		snprintf(cafile_arg, sizeof(cafile_arg), "-cafile=%s", o->cafile);
		argv[argc++] = cafile_arg;
	}
	if (o->tokenfile) {
		snprintf(token_arg, sizeof(token_arg), "-tokenfile=%s", o->tokenfile);
		argv[argc++] = token_arg;
	}
	argv[argc] = NULL;
	long maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;

	if (pipe2(in, O_CLOEXEC) < 0) {
		*why = "pipe failed";
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		*why = "pipe failed";
		return -1;
	}
	/* As pam_unix does for its helper: our own waitpid must see the child,
	 * whatever the application does with SIGCHLD. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old_chld);

	pid = fork();
	if (pid < 0) {
		*why = "fork failed";
		goto close_all;
	}
	if (pid == 0) {
		sigset_t none;
		int devnull;
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		devnull = open("/dev/null", O_WRONLY);
		if (devnull < 0 || dup2(devnull, 2) < 0)
			_exit(127);
		if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
			for (long fd = 3; fd < maxfd; fd++)
				close((int)fd);
		for (int s = 1; s < NSIG; s++)
			sigaction(s, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(o->helper, argv, envp);
		_exit(127);
	}
	close(in[0]);
	in[0] = -1;
	close(out[1]);
	out[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);

	if (write_all(in[1], req->data, req->len, deadline) < 0) {
		*why = errno == ETIMEDOUT ? "timeout writing to the helper" : "helper did not take the request (missing or crashed)";
		goto kill_child;
	}
	close(in[1]);
	in[1] = -1;

	for (;;) {
		long left = deadline - now_ms();
		struct pollfd pfd = {out[0], POLLIN, 0};
		if (left <= 0) {
			*why = "timeout waiting for the helper";
			goto kill_child;
		}
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			*why = "poll failed";
			goto kill_child;
		}
		if (pr == 0)
			continue; /* the deadline check above ends it */
		ssize_t r = read(out[0], ans + got, ans_size - 1 - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			*why = "read from the helper failed";
			goto kill_child;
		}
		if (r == 0) {
			*why = got == 0 ? "helper gave no answer (missing or crashed)" : "helper answer has no newline";
			goto kill_child;
		}
		char *nl = memchr(ans + got, '\n', (size_t)r);
		got += (size_t)r;
		if (nl) {
			if (nl != ans + got - 1) {
				*why = "helper wrote more than one line";
				goto kill_child;
			}
			*nl = '\0';
			if (memchr(ans, '\0', (size_t)(nl - ans))) {
				*why = "helper answer has a NUL byte";
				goto kill_child;
			}
			rc = 0;
			break;
		}
		if (got >= ans_size - 1) {
			*why = "helper answer too long";
			goto kill_child;
		}
	}
	/* The answer is in: give the helper a moment to exit, then kill it. */
	close(out[0]);
	out[0] = -1;
	long grace = now_ms() + EXIT_GRACE_MS;
	reap(pid, grace < deadline ? grace : deadline);
	goto close_all;

kill_child:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
close_all:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	sigaction(SIGCHLD, &old_chld, NULL);
	return rc;
}

/* parse_answer splits "RESULT[ MESSAGE]"; message points into ans. */
static enum result parse_answer(char *ans, const char **message)
{
	char *sp = strchr(ans, ' ');
	*message = "";
	if (sp) {
		*sp = '\0';
		*message = sp + 1;
		for (unsigned char *c = (unsigned char *)sp + 1; *c; c++)
			if (*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	for (int r = 0; r < ANS_NONE; r++) {
		if (strcmp(ans, results[r]) != 0)
			continue;
		/* The verdicts that let a user in carry nothing else. */
		if ((r == ANS_OK || r == ANS_NO_SECOND_FACTOR) && sp)
			return ANS_NONE;
		return (enum result)r;
	}
	return ANS_NONE;
}

static const char *item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;
	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == NULL)
		return "";
	return v;
}

/*
 * printable copies at most 64 bytes of s for a log line, control bytes and
 * non-ASCII as '?', so that a user name cannot forge syslog lines.
 */
static const char *printable(const char *s, char *out, size_t size)
{
	size_t i = 0;
	for (; s[i] && i < size - 1 && i < 64; i++)
		out[i] = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : s[i];
	out[i] = '\0';
	return out;
}

static void wipe(struct buf *b)
{
	explicit_bzero(b->data, sizeof(b->data));
}

/*
 * ask sends one request and returns the helper's verdict; on ANS_NONE the
 * reason is logged here.
 */
static enum result ask(pam_handle_t *pamh, const struct options *o, const char *op, const char *user,
		       const char *code, const char *password, char *ans, size_t ans_size,
		       const char **message)
{
	struct buf *req = calloc(1, sizeof(*req));
	const char *why = NULL;
	char ub[65];
	const char *lu = printable(user, ub, sizeof(ub));
	enum result r;

	*message = "";
	if (req == NULL) {
		pam_syslog(pamh, LOG_ERR, "out of memory");
		return ANS_NONE;
	}
	put(req, "otpgate-pam 1\n", 14);
	put_field(req, "op", op);
	put_field(req, "user", user);
	put_field(req, "code", code);
	put_field(req, "service", item(pamh, PAM_SERVICE));
	put_field(req, "rhost", item(pamh, PAM_RHOST));
	put_field(req, "tty", item(pamh, PAM_TTY));
	if (password)
		put_field(req, "password", password);
	put(req, "end\n", 4);
	if (req->bad) {
		wipe(req);
		free(req);
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": refused: a field is longer than %d bytes", lu, FIELD_MAX);
		return ANS_INVALID;
	}
	int rc = call_helper(o, req, ans, ans_size, &why);
	wipe(req);
	free(req);
	if (rc < 0) {
		pam_syslog(pamh, LOG_ERR, "user \"%s\": %s: %s (%s)", lu, op, why, o->helper);
		return ANS_NONE;
	}
	r = parse_answer(ans, message);
	if (r == ANS_NONE)
		pam_syslog(pamh, LOG_ERR, "user \"%s\": %s: malformed helper answer", lu, op);
	return r;
}

/* get_code asks the code (hidden) or takes PAM_AUTHTOK; *code is malloc'd. */
static int get_code(pam_handle_t *pamh, const struct options *o, char **code)
{
	*code = NULL;
	if (o->use_first_pass || o->try_first_pass) {
		const void *tok = NULL;
		if (pam_get_item(pamh, PAM_AUTHTOK, &tok) == PAM_SUCCESS && tok != NULL) {
			*code = strndup(tok, FIELD_MAX + 1);
			return *code ? PAM_SUCCESS : PAM_BUF_ERR;
		}
		if (o->use_first_pass) {
			pam_syslog(pamh, LOG_NOTICE, "use_first_pass: no code stored by an earlier module");
			return PAM_AUTH_ERR;
		}
	}
	int rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, code, "%s", o->prompt);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "conversation failed: %s", pam_strerror(pamh, rc));
		*code = NULL;
		return PAM_CONV_ERR;
	}
	if (*code == NULL) {
		*code = strdup("");
		return *code ? PAM_SUCCESS : PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strnlen(s, 1 << 20));
		free(s);
	}
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;
	const char *user = NULL, *message;
	const void *password = NULL;
	char *code = NULL, ans[ANSWER_MAX + 1];
	int rc;

	(void)flags;
	if (parse_options(pamh, argc, argv, &o) < 0)
		return PAM_AUTHINFO_UNAVAIL;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || *user == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "no user name");
		return PAM_USER_UNKNOWN;
	}
	char ub[65];
	const char *lu = printable(user, ub, sizeof(ub));
	rc = get_code(pamh, &o, &code);
	if (rc != PAM_SUCCESS)
		return rc;
	if (strnlen(code, FIELD_MAX + 1) > FIELD_MAX) {
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": refused: code longer than %d bytes", lu, FIELD_MAX);
		free_secret(code);
		return PAM_AUTH_ERR;
	}
	if (o.pass_password && (pam_get_item(pamh, PAM_AUTHTOK, &password) != PAM_SUCCESS || password == NULL))
		password = "";
	enum result r = ask(pamh, &o, "authenticate", user, code, o.pass_password ? password : NULL, ans,
			    sizeof(ans), &message);
	free_secret(code);
	switch (r) {
	case ANS_OK:
		return PAM_SUCCESS;
	case ANS_NO_SECOND_FACTOR:
		if (o.optional)
			return PAM_IGNORE;
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": refused: no second factor (module not optional)", lu);
		return PAM_AUTH_ERR;
	case ANS_THROTTLED:
	case ANS_DENIED:
		if (*message && !(flags & PAM_SILENT))
			pam_error(pamh, "%s", message);
		/* fall through */
	case ANS_CODE_REQUIRED:
	case ANS_CODE_WRONG:
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": refused: %s", lu, results[r]);
		return PAM_AUTH_ERR;
	case ANS_INVALID:
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": refused: invalid input: %s", lu, message);
		return PAM_AUTH_ERR;
	case ANS_UNAVAILABLE:
		pam_syslog(pamh, LOG_ERR, "user \"%s\": server unavailable: %s", lu, message);
		return PAM_AUTHINFO_UNAVAIL;
	case ANS_NONE:
		break;
	}
	return PAM_AUTHINFO_UNAVAIL;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;
	const char *user = NULL, *message;
	char ans[ANSWER_MAX + 1];

	if (parse_options(pamh, argc, argv, &o) < 0)
		return PAM_AUTHINFO_UNAVAIL;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || *user == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "no user name");
		return PAM_USER_UNKNOWN;
	}
	char ub[65];
	const char *lu = printable(user, ub, sizeof(ub));
	enum result r = ask(pamh, &o, "account", user, "", NULL, ans, sizeof(ans), &message);
	switch (r) {
	case ANS_OK:
		return PAM_SUCCESS;
	case ANS_DENIED:
		if (*message && !(flags & PAM_SILENT))
			pam_error(pamh, "%s", message);
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": account refused", lu);
		return PAM_PERM_DENIED;
	case ANS_INVALID:
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\": account refused: invalid input: %s", lu, message);
		return PAM_PERM_DENIED;
	case ANS_UNAVAILABLE:
		pam_syslog(pamh, LOG_ERR, "user \"%s\": account: server unavailable: %s", lu, message);
		return PAM_AUTHINFO_UNAVAIL;
	default:
		if (r != ANS_NONE)
			pam_syslog(pamh, LOG_ERR, "user \"%s\": account: unexpected answer %s", lu, results[r]);
		return PAM_AUTHINFO_UNAVAIL;
	}
}
