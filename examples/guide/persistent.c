/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * persistent - chapter 5 of the guide: messages that come back again
 * and again.
 *
 * A timer or a signal is one message sent once: it is returned at each
 * occurrence and stays in flight until aborted.  Taking it makes it ours
 * to read; rearmsys() hands it back for the next occurrence.  What
 * happens while we hold it is counted, never lost: ms_count.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"
#include "msgport-sys.h"
#include "guide.h"

int
main(void)
{
	msgport_t *q = mkport_queue();
	const struct timespec period = { 0, 5 * 1000 * 1000 }, hold = { 0, 40 * 1000 * 1000 };
	struct sys_timer tick;
	struct sys_signal sig;
	struct sys_kill k;
	int i, ticks = 0;

	if (q == NULL)
		return 1;
	printf("persistent: a timer every 5 ms, a signal as a message\n");
	prep_timer(&tick, CLOCK_MONOTONIC, 0, &period, &period, q);
	check(sendsys(sysport(), &tick.hdr, sizeof(tick)) == EASYNC, "the timer is sent once");
	for (i = 0; i < 3; i++) {		/* three ticks, each handed back at once */
		ticks += waitsys(q, &tick.hdr) == 0 && tick.hdr.ms_count >= 1;
		rearmsys(&tick.hdr);
	}
	check(ticks == 3, "three ticks, one message");

	waitsys(q, &tick.hdr);			/* take one and keep it a while */
	nanosleep(&hold, NULL);
	rearmsys(&tick.hdr);			/* the ticks meanwhile were owed: back at once */
	waitsys(q, &tick.hdr);
	check(tick.hdr.ms_count >= 5, "held 40 ms: the next return counts the ticks missed");

	abortsys(&tick.hdr);			/* the end: one last return, ECANCELED */
	while (!(msgflags(&tick.hdr) & MSGF_FINAL))
		if (rearmsys(&tick.hdr) != 0 || (waitsys(q, &tick.hdr) != 0 &&
		    !(msgflags(&tick.hdr) & MSGF_FINAL)))
			break;
	check(tick.hdr.ms_error == ECANCELED && !(msgflags(&tick.hdr) & MSGF_INFLIGHT),
	    "aborted: the final return says ECANCELED and the message is idle");

	/* A signal: SIGUSR1 arrives as a message, not in a handler of ours. */
	prep_signal(&sig, SIGUSR1, q);
	check(sendsys(sysport(), &sig.hdr, sizeof(sig)) == EASYNC, "the signal message is sent");
	prep_kill(&k, getpid(), SIGUSR1);	/* kill(2), itself a message */
	sendsys(sysport(), &k.hdr, sizeof(k));
	check(waitsys(q, &sig.hdr) == 0 && sig.ninfo == 1 && sig.info[0].sg_pid == getpid(),
	    "SIGUSR1 came back as a message, with who sent it");
	abortsys(&sig.hdr);
	rearmsys(&sig.hdr);
	waitsys(q, &sig.hdr);
	check(msgflags(&sig.hdr) & MSGF_FINAL, "the signal message, aborted, is final");
	rmport(q);
	return verdict("persistent");
}
