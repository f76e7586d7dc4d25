/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replyports - chapter 3 of the guide: the five kinds of reply port.
 *
 * The same asynchronous request (a 5 ms nanosleep sent to the system
 * port) comes back five ways: to no port at all, to a queue port, to an
 * upcall port (a function runs in this thread, interrupting it), to a
 * critical-section port (the upcall waits for crit_exit()) and to a
 * passive port (this thread drains it first; the upcall is the backstop).
 */
#include <time.h>

#include "msgport.h"
#include "msgport-sys.h"
#include "guide.h"

static volatile int upcalls;		/* written by the upcall, in this thread */

/* An upcall: take what came back; arg is the counter to bump. */
static void
took(msgport_t *port, void *arg)
{
	volatile int *count = arg;

	while (getport(port) != NULL)
		*count += 1;
}

/* Send a 5 ms sleep with reply port rport (NULL: none). */
static int
send_nap(struct sys_nanosleep *ns, msgport_t *rport)
{
	static const struct timespec nap = { 0, 5 * 1000 * 1000 };

	prep_nanosleep(ns, &nap, NULL);
	prep_async(&ns->hdr, rport);
	return sendsys(sysport(), &ns->hdr, sizeof(*ns));
}

/* Sleep ms milliseconds whatever interrupts us (an upcall ends nanosleep early). */
static void
pause_ms(long ms)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&t, &t) != 0)
		;
}

/* Until msg is done, or about two seconds. */
static void
until_done(msg_t *msg)
{
	for (int i = 0; i < 2000 && !(msgflags(msg) & MSGF_DONE); i++)
		pause_ms(1);
}

int
main(void)
{
	msgport_t *queue = mkport_queue(), *up = mkport_upcall(took, (void *)&upcalls);
	msgport_t *crit = mkport_critupcall(took, (void *)&upcalls);
	struct timespec backstop = { 0, 50 * 1000 * 1000 };
	msgport_t *passive = mkport_passive(took, (void *)&upcalls, &backstop);
	struct sys_nanosleep ns;
	int before;

	if (queue == NULL || up == NULL || crit == NULL || passive == NULL)
		return 1;
	printf("replyports: one request, five ways back\n");

	/* 1. No reply port: wait for the message itself. */
	check(send_nap(&ns, NULL) == EASYNC && waitsys(NULL, &ns.hdr) == 0,
	    "no port: waitsys(NULL, msg) until it is done");

	/* 2. A queue port: it waits there until taken. */
	check(send_nap(&ns, queue) == EASYNC && waitsys(queue, &ns.hdr) == 0,
	    "queue port: waitsys(port, msg) takes it off");

	/* 3. An upcall port: took() runs in this thread when it is back. */
	before = upcalls;
	send_nap(&ns, up);
	for (int i = 0; i < 2000 && upcalls == before; i++)
		pause_ms(1);
	check(upcalls == before + 1, "upcall port: took() interrupted us and took it");

	/* 4. A critical-section port: no upcall inside crit_enter()...crit_exit(). */
	before = upcalls;
	crit_enter();
	send_nap(&ns, crit);
	until_done(&ns.hdr);
	pause_ms(5);
	check(upcalls == before, "critical-section port: held while we are inside");
	crit_exit();				/* the held upcall runs here */
	for (int i = 0; i < 2000 && upcalls == before; i++)
		pause_ms(1);			/* (or just after, if its signal was still coming) */
	check(upcalls == before + 1, "critical-section port: run once we left the section");

	/* 5. A passive port: we drain it first; the upcall only if we forget. */
	before = upcalls;
	send_nap(&ns, passive);
	until_done(&ns.hdr);
	check(getport(passive) == &ns.hdr && upcalls == before, "passive port: drained by us, no upcall");
	send_nap(&ns, passive);			/* this time we forget it */
	pause_ms(120);
	check(upcalls == before + 1, "passive port: forgotten, upcalled after 50 ms");

	rmport(queue);
	rmport(up);
	rmport(crit);
	rmport(passive);
	return verdict("replyports");
}
