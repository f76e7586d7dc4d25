/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * timers - a periodic timer and a one-shot absolute timer as messages.
 *
 * A 20 ms CLOCK_MONOTONIC periodic timer prints each tick it is returned
 * for; after the fifth, the program is busy for 110 ms without taking
 * it, so the next return reports the expiries it missed as overruns (the
 * schedule itself never slips: tick k is due at start + k * 20 ms).  A
 * one-shot CLOCK_REALTIME timer, absolute, set 300 ms ahead, prints how
 * late it came.  Both arrive on one queue port; every periodic return is
 * handed back with rearmsys(), and abortsys() ends it (ECANCELED).
 * A one-shot timer's one return is its final one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <msgport.h>
#include <msgport-sys.h>

#include "../cli.h"

static double
since(const struct timespec *t0, clockid_t clock)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
busy(double ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (since(&t0, CLOCK_MONOTONIC) < ms)
		continue;
}

int
main(int argc, char **argv)
{
	struct timespec period = { 0, 20 * 1000000L }, start, when;
	struct sys_timer tick, alarm;
	uint64_t expiries = 0;
	int returns = 0, alarmed = 0, r;
	msgport_t *q;
	msg_t *m;

	cli_prog = "timers";
	cli_usage = "";
	cli_help = "A periodic and a one-shot timer as messages; prints each return.\n";
	cli_noargs(argc, argv);
	if ((q = mkport_queue()) == NULL) {
		perror("timers: mkport_queue");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	prep_timer(&tick, CLOCK_MONOTONIC, 0, &period, &period, q);
	if ((r = sendsys(sysport(), &tick.hdr, sizeof(tick))) != EASYNC) {
		fprintf(stderr, "timers: periodic: %s\n", strerror(r));
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &when);
	when.tv_nsec += 300 * 1000000L;
	if (when.tv_nsec >= 1000000000L) {
		when.tv_sec++;
		when.tv_nsec -= 1000000000L;
	}
	prep_timer(&alarm, CLOCK_REALTIME, TIMER_ABSTIME, &when, NULL, q);
	if ((r = sendsys(sysport(), &alarm.hdr, sizeof(alarm))) != EASYNC) {
		fprintf(stderr, "timers: one-shot: %s\n", strerror(r));
		return 1;
	}

	while (returns < 12 || !alarmed) {
		if (waitsys(q, NULL) != 0 || (m = getport(q)) == NULL)
			continue;
		if (m == &alarm.hdr) {
			printf("one-shot at +300 ms (CLOCK_REALTIME, absolute): %.3f ms late%s\n",
			    since(&when, CLOCK_REALTIME),
			    (msgflags(m) & MSGF_FINAL) ? ", final" : "");
			alarmed = 1;
			continue;
		}
		expiries += tick.hdr.ms_count;
		printf("tick %2d at %7.2f ms: %llu expir%s, %llu overrun%s, %llu in all\n",
		    ++returns, since(&start, CLOCK_MONOTONIC),
		    (unsigned long long)tick.hdr.ms_count, tick.hdr.ms_count == 1 ? "y" : "ies",
		    (unsigned long long)tick.overruns, tick.overruns == 1 ? "" : "s",
		    (unsigned long long)expiries);
		if (returns == 5) {
			printf("  busy for 110 ms without taking the timer...\n");
			busy(110);
		}
		fflush(stdout);
		rearmsys(m);
	}

	abortsys(&tick.hdr);
	while ((r = waitsys(q, &tick.hdr)) == 0)
		rearmsys(&tick.hdr);
	printf("periodic timer ended: %s; %llu expiries in %.1f ms (%.1f due)\n", strerror(r),
	    (unsigned long long)(expiries + tick.hdr.ms_count), since(&start, CLOCK_MONOTONIC),
	    since(&start, CLOCK_MONOTONIC) / 20.0);
	rmport(q);
	return r == ECANCELED ? 0 : 1;
}
