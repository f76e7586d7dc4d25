/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upcallutil.h - what the upcall tests share on top of testutil.h: a
 * recording upcall, the thread id, and waiting with a generous deadline.
 *
 * Upcalls run in signal context, so the recording upcall never asserts:
 * it counts what it saw, and the test asserts on the counts afterwards.
 */
#ifndef MSGPORT_UPCALLUTIL_H
#define MSGPORT_UPCALLUTIL_H

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"
#include "clockutil.h"

/* Every upcall test picks this signal first, so it can block it and look. */
#define TEST_UPCALL_SIG	(SIGRTMIN + 9)

static inline pid_t
test_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Spin (yielding) until cond holds or the deadline passes; true if it held. */
#define WAIT_UNTIL(cond) ({						\
	double _end = test_now() + TEST_DEADLINE_S;			\
	while (!(cond) && test_now() < _end)				\
		sched_yield();						\
	(bool)(cond);							\
})

/* Is thread tid asleep in the kernel (state S in /proc)? */
static inline bool
test_sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] == 'S';
}

/* What the recording upcall saw.  Other threads read calls atomically
   (upcalls_seen); the rest only once the owner is back in control. */
struct upstat {
	volatile int	calls;		/* upcalls run */
	volatile int	taken;		/* messages taken, in order[] */
	volatile int	depth;		/* upcalls of this port on the stack now */
	volatile int	maxdepth;
	volatile int	wrongthread;	/* ran on another thread than tid */
	volatile int	incrit;		/* ran while *critflag was set */
	volatile sig_atomic_t *critflag; /* the test's own "inside crit" mark */
	pid_t		tid;		/* the owner */
	int64_t		order[64];	/* ms_result of each message taken */
	void		(*extra)(msgport_t *port, struct upstat *st); /* more work */
};

static inline int
upcalls_seen(struct upstat *st)
{
	return __atomic_load_n(&st->calls, __ATOMIC_SEQ_CST);
}

static inline void
upstat_init(struct upstat *st)
{
	memset(st, 0, sizeof(*st));
	st->tid = test_tid();
}

/* The upcall: take one message, note what it saw. */
static inline void
record_upcall(msgport_t *port, void *arg)
{
	struct upstat *st = arg;
	msg_t *m;

	__atomic_add_fetch(&st->calls, 1, __ATOMIC_SEQ_CST);	/* others watch it */
	if (++st->depth > st->maxdepth)
		st->maxdepth = st->depth;
	if (test_tid() != st->tid)
		st->wrongthread++;
	if (st->critflag != NULL && *st->critflag)
		st->incrit++;
	if ((m = getport(port)) != NULL && st->taken < 64)
		st->order[st->taken++] = m->ms_result;
	if (st->extra != NULL)
		st->extra(port, st);
	st->depth--;
}

/* Send n echo messages (arg = first + i) to server, replies to rport. */
static inline void
send_echoes(struct testserver *ts, struct testmsg *tm, int n, msgport_t *rport, int64_t first)
{
	for (int i = 0; i < n; i++) {
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, rport, first + i);
		assert_int_equal(sendsys(ts->port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
}

/* Have all n been returned (done)? */
static inline bool
all_done(struct testmsg *tm, int n)
{
	for (int i = 0; i < n; i++)
		if (!(flags_of(&tm[i].hdr) & MSGF_DONE))
			return false;
	return true;
}

/*
 * Make sure every reply the server made so far has been delivered: a
 * synchronous message behind them comes back only after the server
 * finished returning them (signal sent included), and the system call
 * after it takes delivery of any signal pending on this thread.
 */
static inline void
server_sync(struct testserver *ts)
{
	testserver_sync(ts);
	sched_yield();
}

#endif /* MSGPORT_UPCALLUTIL_H */
