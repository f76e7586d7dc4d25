/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * signals - signals as messages.
 *
 * SIGINT and SIGUSR1 come as messages on a queue port that the main loop
 * drains with waitsys(); a real-time signal (SIGRTMIN+1), with the value
 * its sender queued, comes on a critical-section upcall port: its upcall
 * interrupts the main thread, but never while the main loop prints
 * (inside crit_enter()), so occurrences meanwhile are counted and
 * delivered at crit_exit().  Every occurrence is printed with its info
 * and the counts of its return; each message is handed back with
 * rearmsys().  SIGINT ends it: every message is aborted, and the signals
 * go back to what they were.
 *
 *	signals			wait for signals from a shell (see README.md)
 *	signals --self-test	fork a child that sends them, check, exit 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgport.h>
#include <msgport-sys.h>

#include "../cli.h"

static struct sys_signal sigint_m, sigusr1_m, rt_m;
static volatile sig_atomic_t rt_total, rt_values, rt_final;

/* The upcall runs in signal context: format by hand, write(2) only. */
static void
put(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		return;
}

static void
putn(const char *s, long v)
{
	char num[24];
	size_t k = sizeof(num);
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	put(s);
	num[--k] = '\0';
	do {
		num[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		num[--k] = '-';
	put(num + k);
}

static void
rt_upcall(msgport_t *port, void *arg)
{
	struct sys_signal *m = (struct sys_signal *)getport(port);
	uint32_t i;

	(void)arg;
	if (m == NULL)
		return;
	if (msgflags(&m->hdr) & MSGF_FINAL) {
		rt_final = 1;
		return;
	}
	putn("SIGRTMIN+1: count ", (long)m->hdr.ms_count);
	putn(" dropped ", (long)m->dropped);
	put("\n");
	for (i = 0; i < m->ninfo; i++) {
		putn("  value ", m->info[i].sg_value.sival_int);
		putn(" from pid ", m->info[i].sg_pid);
		putn(" code ", m->info[i].sg_code);
		put("\n");
		rt_values += m->info[i].sg_value.sival_int;
	}
	rt_total += (sig_atomic_t)m->hdr.ms_count;
	rearmsys(&m->hdr);
}

static void
print_occurrence(const char *name, const struct sys_signal *m)
{
	uint32_t i;

	printf("%s: count %llu (info kept for %u, dropped %llu)\n", name,
	    (unsigned long long)m->hdr.ms_count, m->ninfo, (unsigned long long)m->dropped);
	for (i = 0; i < m->ninfo; i++)
		printf("  signo %d code %d pid %d uid %d\n", m->info[i].sg_signo,
		    m->info[i].sg_code, (int)m->info[i].sg_pid, (int)m->info[i].sg_uid);
	fflush(stdout);
}

static int
arm(struct sys_signal *m, int signo, msgport_t *port)
{
	int r;

	prep_signal(m, signo, port);
	if ((r = sendsys(sysport(), &m->hdr, sizeof(*m))) != EASYNC) {
		fprintf(stderr, "signals: signal %d: %s\n", signo, strerror(r));
		return -1;
	}
	return 0;
}

/* The self-test's child: the signals a user would send from a shell. */
static void
child(pid_t parent)
{
	struct timespec pause = { 0, 20 * 1000000L };
	union sigval v;
	int i;

	nanosleep(&pause, NULL);
	kill(parent, SIGUSR1);
	nanosleep(&pause, NULL);
	for (i = 1; i <= 3; i++) {
		v.sival_int = 10 * i;
		while (sigqueue(parent, SIGRTMIN + 1, v) != 0 && errno == EAGAIN)
			nanosleep(&pause, NULL);
		nanosleep(&pause, NULL);
	}
	kill(parent, SIGINT);
	_exit(0);
}

int
main(int argc, char **argv)
{
	int selftest = argc == 2 && strcmp(argv[1], "--self-test") == 0;
	msgport_t *q, *up;
	struct timespec tick = { 0, 100 * 1000000L };
	int usr1 = 0, done = 0, st;
	pid_t kid = -1;
	msg_t *m;

	cli_prog = "signals";
	cli_usage = "[--self-test]";
	cli_help = "SIGINT, SIGUSR1 and SIGRTMIN+1 as messages (see README.md); SIGINT ends it.\n"
	    "  --self-test  a child sends them; exit 0 if all came as they should\n";
	if (!selftest)
		cli_noargs(argc, argv);
	if ((q = mkport_queue()) == NULL || (up = mkport_critupcall(rt_upcall, NULL)) == NULL) {
		perror("signals: mkport");
		return 1;
	}
	if (arm(&sigint_m, SIGINT, q) || arm(&sigusr1_m, SIGUSR1, q) ||
	    arm(&rt_m, SIGRTMIN + 1, up))
		return 1;
	printf("signals: pid %d: SIGINT, SIGUSR1 and SIGRTMIN+1 are messages now\n", (int)getpid());
	fflush(stdout);
	if (selftest && (kid = fork()) == 0)
		child(getppid());

	while (!done) {
		/* a timeout now and then costs nothing, and lets a sanitizer
		   that defers signals to library calls deliver them */
		if (timedwaitsys(q, NULL, &tick) != 0 || (m = getport(q)) == NULL)
			continue;
		crit_enter();		/* real-time upcalls wait until we have printed */
		if (m == &sigusr1_m.hdr) {
			print_occurrence("SIGUSR1", &sigusr1_m);
			usr1 += (int)m->ms_count;
		} else if (m == &sigint_m.hdr) {
			print_occurrence("SIGINT", &sigint_m);
			done = 1;
		}
		crit_exit();
		rearmsys(m);
	}

	if (selftest) {
		/* the child sent SIGINT last: wait for its real-time ones to land */
		struct timespec ms = { 0, 1000000L };
		int i;

		for (i = 0; i < 5000 && rt_total < 3; i++)
			nanosleep(&ms, NULL);
		waitpid(kid, &st, 0);
	}
	/* end them all: each comes back once more, ECANCELED (after a rearm if held) */
	abortsys(&sigint_m.hdr);
	abortsys(&sigusr1_m.hdr);
	abortsys(&rt_m.hdr);
	while (waitsys(q, &sigusr1_m.hdr) == 0)
		rearmsys(&sigusr1_m.hdr);
	while (waitsys(q, &sigint_m.hdr) == 0)
		rearmsys(&sigint_m.hdr);
	while (!rt_final) {
		struct timespec ms = { 0, 1000000L };

		nanosleep(&ms, NULL);	/* the final upcall runs meanwhile */
	}
	printf("signals: done; SIGUSR1 x%d, SIGRTMIN+1 x%d (values sum %d)\n", usr1,
	    (int)rt_total, (int)rt_values);
	rmport(q);
	rmport(up);
	if (selftest)
		return usr1 >= 1 && rt_total == 3 && rt_values == 60 ? 0 : 1;
	return 0;
}
