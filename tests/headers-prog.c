/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * headers-prog.c - a program built by tests/test-headers.sh as strict
 * ISO C (gcc -std=c11 -pedantic) and as C++ (g++ -std=c++11, c++20):
 * the public headers and their inline helpers as such a program sees
 * them, then a getpid message sent synchronously and asynchronously.
 * Written in the subset of C and C++ both take.  Exits 0 on success.
 */
#include <msgport-slate.h>
#include <msgport-sys.h>
#include <msgport.h>

#include <stdio.h>
#include <string.h>

/* POSIX, not ISO C: a strict C program has no CLOCK_MONOTONIC. */
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC 1
#endif

static int
check(int cond, const char *what)
{
	if (!cond)
		fprintf(stderr, "headers-prog: %s\n", what);
	return cond ? 0 : 1;
}

int
main(void)
{
	struct sys_getpid m;
	struct sys_timer t;
	struct sys_signal s;
	struct sysport_attr attr;
	struct timespec ts;
	msgport_t *rp;
	long pid;
	int bad = 0;

	bad |= check(msgport_version() == MSGPORT_VERSION, "msgport_version() is not the header's");
	memset(&attr, 0, sizeof(attr));
	attr.sa_workers = 2;
	bad |= check(sysport_start(&attr) == 0, "sysport_start");

	prep_getpid(&m);
	bad |= check(sendsys(sysport(), &m.hdr, sizeof(m)) == 0, "sync getpid");
	pid = (long)m.hdr.ms_result;
	bad |= check(pid > 0 && msgdone(&m.hdr), "sync getpid result");

	rp = mkport_queue();
	bad |= check(rp != NULL, "mkport_queue");
	prep_getpid(&m);
	prep_async(&m.hdr, rp);
	switch (sendsys(sysport(), &m.hdr, sizeof(m))) {
	case EASYNC:
		bad |= check(waitsys(rp, &m.hdr) == 0, "waitsys");
		/* FALLTHROUGH */
	case 0:
		bad |= check((long)m.hdr.ms_result == pid, "async getpid result");
		break;
	default:
		bad |= check(0, "async getpid");
	}

	/* the persistent helpers, prepared only: what C++ once refused */
	ts.tv_sec = 1, ts.tv_nsec = 0;
	prep_timer(&t, CLOCK_MONOTONIC, 0, &ts, NULL, rp);
	bad |= check(t.interval.tv_sec == 0 && t.interval.tv_nsec == 0, "prep_timer interval");
	prep_signal(&s, SIGINT, rp);
	bad |= check(s.qmax == SIGMSG_QMAX, "prep_signal");

	bad |= check(rmport(rp) == 0, "rmport");
	bad |= check(sysport_stop() == 0, "sysport_stop");
	if (!bad)
		printf("headers-prog: pid %ld, version %u.%u.%u\n", pid, MSGPORT_VERSION_MAJOR,
		    MSGPORT_VERSION_MINOR, MSGPORT_VERSION_PATCH);
	return bad;
}
