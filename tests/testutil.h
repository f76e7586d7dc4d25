/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * testutil.h - what the msgport tests share: a server thread that
 * answers messages on a queue port, and a test message.
 *
 * The server is the classic exchange in miniature: it takes requests off
 * its port with getport(), does the work, and replymsg()s them, so the
 * core tests need no kernel port.
 */
#ifndef MSGPORT_TESTUTIL_H
#define MSGPORT_TESTUTIL_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "msgport.h"

/* Commands the test server knows. */
enum {
	TCMD_ECHO = 1,		/* result = arg, error 0 */
	TCMD_FAIL,		/* error = arg */
	TCMD_HOLD,		/* keep it until TCMD_RELEASE (for in-flight states) */
	TCMD_RELEASE,		/* reply every held message, then this one */
	TCMD_STOP,		/* reply and end the server */
};

struct testmsg {
	msg_t	hdr;
	int64_t	arg;
	int64_t	seen;		/* set by the server: it ran */
};

struct testserver {
	msgport_t	*port;		/* requests arrive here */
	pthread_t	thread;
	msg_t		*held[64];
	int		nheld;
	long		served;
};

static void
testserver_answer(msg_t *m)
{
	struct testmsg *tm = (struct testmsg *)m;

	tm->seen = 1;
	switch (m->ms_cmd) {
	case TCMD_ECHO:
		m->ms_result = tm->arg;
		replymsg(m, 0);
		break;
	case TCMD_FAIL:
		replymsg(m, (int)tm->arg);
		break;
	default:
		replymsg(m, ENOSYS);
		break;
	}
}

static void *
testserver_main(void *arg)
{
	struct testserver *ts = arg;
	msg_t *m;
	int i;

	for (;;) {
		if (waitsys(ts->port, NULL) != 0)
			return NULL;
		while ((m = getport(ts->port)) != NULL) {
			ts->served++;
			switch (m->ms_cmd) {
			case TCMD_HOLD:
				assert_true(ts->nheld < 64);
				ts->held[ts->nheld++] = m;
				break;
			case TCMD_RELEASE:
				for (i = 0; i < ts->nheld; i++)
					replymsg(ts->held[i], 0);
				ts->nheld = 0;
				replymsg(m, 0);
				break;
			case TCMD_STOP:
				replymsg(m, 0);
				return NULL;
			default:
				testserver_answer(m);
			}
		}
	}
}

static inline void
testserver_start(struct testserver *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->port = mkport_queue();
	assert_non_null(ts->port);
	assert_int_equal(pthread_create(&ts->thread, NULL, testserver_main, ts), 0);
}

static inline void
testserver_stop(struct testserver *ts)
{
	struct testmsg stop;

	initmsg(&stop.hdr, TCMD_STOP, 0, NULL);
	assert_int_equal(sendsys(ts->port, &stop.hdr, sizeof(stop)), 0);
	assert_int_equal(pthread_join(ts->thread, NULL), 0);
	assert_int_equal(rmport(ts->port), 0);
}

/*
 * testserver_sync
 *	Return once the server has returned every message sent to it so far:
 *	a synchronous one behind them comes back only after them.  Waits for
 *	replies without taking them off their reply ports.
 */
static inline void
testserver_sync(struct testserver *ts)
{
	struct testmsg tm;

	initmsg(&tm.hdr, TCMD_ECHO, 0, NULL);
	tm.arg = 0;
	assert_int_equal(sendsys(ts->port, &tm.hdr, sizeof(tm)), 0);
}

static inline void
testmsg_init(struct testmsg *tm, uint32_t cmd, uint32_t flags, msgport_t *rport, int64_t arg)
{
	initmsg(&tm->hdr, cmd, flags, rport);
	tm->arg = arg;
	tm->seen = 0;
}

#define flags_of(m)	msgflags(m)

#endif /* MSGPORT_TESTUTIL_H */
