/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trace.c - the message-life trace (see trace-internal.h).
 *
 * A line:  NS TID WHAT msg=ADDR cmd=N[/NAME] port=ADDR/KIND how=HOW err=E res=R flags=F
 * NS is nanoseconds since the trace began (CLOCK_MONOTONIC), TID the
 * kernel's thread id; fields that do not apply are left out.  A message
 * address is reused from one life to the next: a life starts at "send".
 * Before a thread's first step, and again when its name has changed:
 *           NS TID name name=NAME
 * (the kernel's name for the thread, blanks, '=', '"' and '\\' written as '_').
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "trace-internal.h"

int mp_trace_fd = -1;
__thread const char *mp_trace_via __attribute__((tls_model("initial-exec")));

static __thread pid_t trace_tid __attribute__((tls_model("initial-exec")));
/* the name last written down for this thread (16: the kernel's size) */
static __thread char trace_name[16] __attribute__((tls_model("initial-exec")));
static uint64_t trace_t0;

static uint64_t
trace_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A line, built without stdio (async-signal-safe). */
struct line {
	char	buf[320];
	size_t	len;
};

static void
put(struct line *l, const char *s)
{
	while (*s != '\0' && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

/* Not in a word a user gave: blanks and '=' split fields; quotes and
   backslashes would need escaping in the renderers' JSON. */
static bool
unwordly(char c)
{
	return c <= ' ' || c > '~' || c == '=' || c == '"' || c == '\\';
}

/* A word a user gave (a command's name, a thread's). */
static void
putword(struct line *l, const char *s)
{
	for (; *s != '\0' && l->len < sizeof(l->buf) - 1; s++)
		l->buf[l->len++] = unwordly(*s) ? '_' : *s;
}

static void
putnum(struct line *l, uint64_t v, unsigned base, bool neg)
{
	char tmp[24];
	int n = 0;

	if (neg)
		put(l, "-");
	do
		tmp[n++] = "0123456789abcdef"[v % base];
	while ((v /= base) != 0);
	while (n > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = tmp[--n];
}

static void
putfield(struct line *l, const char *key, int64_t v)
{
	put(l, key);
	putnum(l, v < 0 ? (uint64_t)-(v + 1) + 1 : (uint64_t)v, 10, v < 0);
}

static void
putaddr(struct line *l, const char *key, const void *p)
{
	put(l, key);
	put(l, "0x");
	putnum(l, (uintptr_t)p, 16, false);
}

void
mp_name_thread(const char *what, int index)
{
	char name[16];

	if (index >= 0)
		snprintf(name, sizeof(name), "mp-%s-%d", what, index);
	else
		snprintf(name, sizeof(name), "mp-%s", what);
	pthread_setname_np(pthread_self(), name);
}

/* A "name" line when this thread's name is not the one last written. */
static void
trace_name_line(uint64_t now)
{
	char name[16] = "";
	struct line l = { .len = 0 };
	size_t i;

	/* prctl, not pthread_getname_np: a plain system call, safe in a handler */
	if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0)
		return;
	name[sizeof(name) - 1] = '\0';
	for (i = 0; name[i] != '\0'; i++)
		if (unwordly(name[i]))
			name[i] = '_';
	if (strcmp(name, trace_name) == 0 && name[0] != '\0')
		return;
	memcpy(trace_name, name, sizeof(name));
	putnum(&l, now, 10, false);
	put(&l, " ");
	putnum(&l, (uint64_t)trace_tid, 10, false);
	put(&l, " name name=");
	put(&l, name[0] != '\0' ? name : "_");
	put(&l, "\n");
	(void)!write(mp_trace_fd, l.buf, l.len);
}

/* The trace's own name for cmd on port (portcmdnames(3)), or NULL. */
static const char *
trace_cmdname(const msg_t *msg, const msgport_t *port)
{
	const char *const *names;
	uint32_t n;

	if (msg == NULL || port == NULL || (n = mp_load_acq_32(&port->mp_ncmdnames)) == 0)
		return NULL;
	names = mp_load_ptr((void *const *)&port->mp_cmdnames);
	if (msg->ms_cmd >= n)
		return NULL;
	return names[msg->ms_cmd];
}

void
mp_trace_step(const char *what, const msg_t *msg, const msgport_t *port, const char *cmdname,
    const char *how)
{
	int saved = errno;
	struct line l = { .len = 0 };
	uint64_t now = trace_now() - trace_t0;

	if (trace_tid == 0)
		trace_tid = (pid_t)syscall(SYS_gettid);
	trace_name_line(now);
	if (cmdname == NULL)
		cmdname = trace_cmdname(msg, port);
	putnum(&l, now, 10, false);
	put(&l, " ");
	putnum(&l, (uint64_t)trace_tid, 10, false);
	put(&l, " ");
	put(&l, what);
	putaddr(&l, " msg=", msg);
	if (msg != NULL) {
		putfield(&l, " cmd=", msg->ms_cmd);
		if (cmdname != NULL) {
			put(&l, "/");
			putword(&l, cmdname);
		}
	}
	if (port != NULL) {
		putaddr(&l, " port=", port);
		put(&l, "/");
		put(&l, port->mp_ops->mp_name);
	}
	if (how != NULL) {
		put(&l, " how=");
		put(&l, how);
	}
	/*
	 * An aborting thread does not own msg: its results may be being
	 * written; nor does the kernel that owes a held persistent message
	 * one more occurrence: the user reads them.
	 */
	if (msg != NULL && strcmp(what, "abort") != 0 && strcmp(what, "owe") != 0) {
		putfield(&l, " err=", msg->ms_error);
		putfield(&l, " res=", msg->ms_result);
	}
	if (msg != NULL) {
		put(&l, " flags=0x");
		putnum(&l, mp_load_32(&msg->ms_flags), 16, false);
	}
	put(&l, "\n");
	(void)!write(mp_trace_fd, l.buf, l.len);
	errno = saved;
}

/* A forked child's threads are new: ask again. */
static void
trace_atfork_child(void)
{
	trace_tid = 0;
	trace_name[0] = '\0';
}

/* MSGPORT_TRACE=FILE, or "-" for standard error: on from the start. */
static void __attribute__((constructor))
trace_init(void)
{
	const char *path = getenv("MSGPORT_TRACE");
	int fd;

	if (path == NULL || *path == '\0')
		return;
	trace_t0 = trace_now();
	if (strcmp(path, "-") == 0)
		fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		static const char msg[] = "msgport: MSGPORT_TRACE: cannot open the trace file; not tracing\n";

		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		return;
	}
	mp_trace_fd = fd;
	pthread_atfork(NULL, NULL, trace_atfork_child);
}
