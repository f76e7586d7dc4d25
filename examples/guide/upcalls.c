/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upcalls - chapter 4 of the guide: software interrupts and critical
 * sections.
 *
 * A reply that comes back to an upcall port interrupts its owner thread,
 * wherever it is, like a signal.  Code that must not be interrupted (it
 * is halfway through changing what the upcall also reads) brackets
 * itself with crit_enter() and crit_exit(); the upcall is held back and
 * runs at the outermost crit_exit().  Here the "shared state" is a
 * two-field record that must never be seen half-written.
 */
#include <time.h>

#include "msgport.h"
#include "msgport-sys.h"
#include "guide.h"

/* Written by main, read by the upcall: both fields always equal. */
static volatile long left, right;
static volatile int torn, ran;

static void
on_reply(msgport_t *port, void *arg)
{
	(void)arg;
	while (getport(port) != NULL) {
		torn += left != right;		/* would see a half-done update */
		ran++;
	}
}

int
main(void)
{
	msgport_t *port = mkport_critupcall(on_reply, NULL);
	const struct timespec nap = { 0, 1000 * 1000 }, tick = { 0, 20 * 1000 };
	struct sys_nanosleep ns[8];
	int i, nested_ok;

	if (port == NULL)
		return 1;
	printf("upcalls: replies interrupt us, never inside a critical section\n");
	for (i = 0; i < 8; i++) {		/* eight 1 ms sleeps in flight */
		prep_nanosleep(&ns[i], &nap, NULL);
		prep_async(&ns[i].hdr, port);
		sendsys(sysport(), &ns[i].hdr, sizeof(ns[i]));
	}
	/* Update the record, slowly, again and again, while replies land. */
	for (long n = 1; ran < 8 && n < 100000; n++) {	/* (at most a few seconds) */
		crit_enter();
		left = n;
		for (volatile int spin = 0; spin < 1000; spin++)
			;			/* an upcall here would see left != right */
		right = n;
		crit_exit();			/* held upcalls run here */
		nanosleep(&tick, NULL);		/* and the work between updates */
	}
	check(ran == 8, "all eight replies were taken by the upcall");
	check(torn == 0, "no upcall saw the record half-written");

	/* Sections nest: only the outermost crit_exit() lets upcalls run. */
	ran = 0;
	prep_nanosleep(&ns[0], &nap, NULL);
	prep_async(&ns[0].hdr, port);
	crit_enter();
	crit_enter();
	sendsys(sysport(), &ns[0].hdr, sizeof(ns[0]));
	while (!(msgflags(&ns[0].hdr) & MSGF_DONE))
		;				/* back, but held */
	nanosleep(&nap, NULL);			/* its signal has time to arrive, and be held */
	crit_exit();
	nested_ok = ran == 0;
	crit_exit();
	/* (the signal may still be on its way: give it a moment, outside) */
	for (i = 0; i < 2000 && ran == 0; i++)
		nanosleep(&nap, NULL);
	check(nested_ok && ran == 1, "nested: held until the outermost crit_exit()");

	/* flushsys() runs held upcalls on demand, even inside a section. */
	ran = 0;
	prep_nanosleep(&ns[0], &nap, NULL);
	prep_async(&ns[0].hdr, port);
	crit_enter();
	sendsys(sysport(), &ns[0].hdr, sizeof(ns[0]));
	while (!(msgflags(&ns[0].hdr) & MSGF_DONE))
		;
	flushsys();				/* runs what is queued, signal or not */
	check(ran == 1, "flushsys() ran the held upcall inside the section");
	crit_exit();
	rmport(port);
	return verdict("upcalls");
}
