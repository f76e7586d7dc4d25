/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a thread that sends inline-able calls in a burst (a hot
 * tree walk's lstat()s) has some of them run by a helper on another CPU:
 * sendsys() says EASYNC for those, the trace says "pool ... how=spread",
 * and they come back on the reply port with the right results, each
 * once; the rest finish in place.  Pinned to one CPU, or with the choice
 * fixed (MSGPORT_GUESS=inline), or when the calls come one at a time,
 * none is spread (the trace has no how=spread; a pinned burst may still
 * go to the pool if its calls are seen to block, as under a loaded
 * sanitizer build, and that is not spreading).  Threads spread side by
 * side, and sysport_stop() returns spread messages still queued.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>

#include "kputil.h"

#define NFILES	32
#define NMSG	600		/* a burst */

static struct stat want[NFILES];
static char names[NFILES][16];

static const char *
fname(int i)
{
	return names[i];
}

static void
mknames(void)
{
	for (int i = 0; i < NFILES; i++)
		snprintf(names[i], sizeof(names[i]), "f%02d", i);
}

static int
ncpus(void)
{
	cpu_set_t s;

	return sched_getaffinity(0, sizeof(s), &s) == 0 ? CPU_COUNT(&s) : 1;
}

/* Send n lstat messages back to back, replies to rp: how many said EASYNC. */
static int
send_burst(msgport_t *rp, struct sys_fstatat *m, struct stat *st, int n)
{
	int i, r, away = 0;

	for (i = 0; i < n; i++) {
		prep_lstat(&m[i], fname(i % NFILES), &st[i]);
		prep_async(&m[i].hdr, rp);
		m[i].hdr.ms_cookie = &m[i];
		r = sendsys(sysport(), &m[i].hdr, sizeof(m[i]));
		assert_true(r == 0 || r == EASYNC);
		away += r == EASYNC;
	}
	return away;
}

/*
 * burst
 *	A burst of n, then a wait for those that went elsewhere and a check
 *	of every result.  Returns how many went (EASYNC); each came back once.
 */
static int
burst(msgport_t *rp, int n)
{
	struct sys_fstatat *m = calloc((size_t)n, sizeof(*m));
	struct stat *st = calloc((size_t)n, sizeof(*st));
	int i, away, back = 0;
	msg_t *got;

	assert_non_null(m);
	assert_non_null(st);
	away = send_burst(rp, m, st, n);
	while (back < away) {
		struct timespec t = { 30, 0 };

		assert_int_equal(timedwaitsys(rp, NULL, &t), 0);
		while ((got = getport(rp)) != NULL) {
			assert_ptr_equal(got->ms_cookie, got);
			back++;
		}
	}
	assert_null(getport(rp));
	for (i = 0; i < n; i++) {
		assert_true(kp_flags(&m[i].hdr) & MSGF_DONE);
		assert_false(kp_flags(&m[i].hdr) & MSGF_INFLIGHT);
		assert_int_equal(m[i].hdr.ms_error, 0);
		assert_int_equal(st[i].st_ino, want[i % NFILES].st_ino);
		assert_int_equal(st[i].st_size, want[i % NFILES].st_size);
	}
	free(m);
	free(st);
	return away;
}

/* Messages the trace at path says were queued for a helper (how=spread). */
static int
spread_in_trace(const char *path)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " pool ") != NULL && strstr(line, " how=spread") != NULL)
			n++;
	fclose(f);
	return n;
}

/*
 * The traced children (the trace is turned on by MSGPORT_TRACE when the
 * library is loaded: a fresh process), in the parent's scratch directory.
 *	burst	bursts until the trace shows one spread (at most 20: a busy
 *		machine may cut a burst short now and then)
 *	pinned	pinned to one CPU before sysport_start(), five bursts
 *	apart	40 lone calls 2 ms apart
 * Each checks every message's result and that each came back once.
 */
static int
traced_child(const char *what)
{
	msgport_t *rp;
	cpu_set_t all, one;

	if (strcmp(what, "pinned") == 0) {
		if (sched_getaffinity(0, sizeof(all), &all) != 0)
			return 3;
		CPU_ZERO(&one);
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &all)) {
				CPU_SET(c, &one);
				break;
			}
		if (sched_setaffinity(0, sizeof(one), &one) != 0)
			return 3;
	}
	if (sysport_start(NULL) != 0 || (rp = mkport_queue()) == NULL)
		return 3;
	if (strcmp(what, "burst") == 0) {
		for (int i = 0; i < 20 && spread_in_trace(getenv("MSGPORT_TRACE")) == 0; i++)
			burst(rp, NMSG);
	} else if (strcmp(what, "pinned") == 0) {
		for (int i = 0; i < 5; i++)
			burst(rp, NMSG);
	} else {
		for (int i = 0; i < 40; i++) {
			usleep(2000);		/* far apart: no burst */
			burst(rp, 1);
		}
	}
	return rmport(rp) == 0 && sysport_stop() == 0 ? 0 : 4;
}

/* Run traced_child(what) in a fresh process: how many it spread. */
static int
spread_by_child(const char *what)
{
	char trace[300];

	snprintf(trace, sizeof(trace), "%s/trace-%s", kp_dir, what);
	unlink(trace);
	kp_rerun("MSGPORT_TRACE", trace, what);
	return spread_in_trace(trace);
}

static void
a_burst_is_spread_over_the_cpus(void **s)
{
	char cmd[PATH_MAX + 400];

	(void)s;
	if (ncpus() < 2)
		skip();
	assert_true(spread_by_child("burst") > 0);
	/* and the renderer tells it apart from a call queued because it blocks */
	snprintf(cmd, sizeof(cmd), "sh %s/tools/msgport-timeline -l %s/trace-burst | "
	    "grep -q 'queued for a helper (spread)'", TOP_BUILDDIR, kp_dir);
	assert_int_equal(system(cmd), 0);
}

static void
pinned_to_one_cpu_nothing_is_spread(void **s)
{
	(void)s;
	assert_int_equal(spread_by_child("pinned"), 0);
}

static void
calls_one_at_a_time_are_not_spread(void **s)
{
	(void)s;
	assert_int_equal(spread_by_child("apart"), 0);
}

/* MSGPORT_GUESS is read once per process: a fresh one reads it. */
static int
fixed_child(void)
{
	msgport_t *rp = mkport_queue();
	int away = 0;

	for (int i = 0; i < 5; i++)
		away += burst(rp, NMSG);
	rmport(rp);
	return away == 0 ? 0 : 1;
}

static void
a_fixed_choice_never_spreads(void **s)
{
	(void)s;
	kp_rerun("MSGPORT_GUESS", "inline", "fixed");
}

static void *
burster(void *arg)
{
	msgport_t *rp = mkport_queue();
	int *away = arg;

	for (int i = 0; i < 10; i++)
		*away += burst(rp, NMSG / 2);
	rmport(rp);
	return NULL;
}

static void
threads_spread_side_by_side_each_message_once(void **s)
{
	pthread_t t[4];
	int away[4] = { 0 };

	(void)s;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, burster, &away[i]), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

static void
stop_returns_spread_messages_once(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_fstatat *m = calloc(NMSG, sizeof(*m));
	struct stat *st = calloc(NMSG, sizeof(*st));
	int i, away, back = 0;
	msg_t *got;

	(void)s;
	assert_non_null(m);
	assert_non_null(st);
	away = send_burst(rp, m, st, NMSG);
	sysport_stop();		/* whatever is queued comes back ECANCELED */
	while ((got = getport(rp)) != NULL) {
		assert_true(got->ms_error == 0 || got->ms_error == ECANCELED);
		back++;
	}
	assert_int_equal(back, away);
	for (i = 0; i < NMSG; i++)
		assert_false(kp_flags(&m[i].hdr) & MSGF_INFLIGHT);
	assert_int_equal(rmport(rp), 0);
	free(m);
	free(st);
	assert_int_equal(sysport_start(NULL), 0);
}

static int
setup(void **state)
{
	char text[NFILES + 1];

	kp_group_tmpdir(state);
	mknames();
	for (int i = 0; i < NFILES; i++) {
		memset(text, 'x', (size_t)i);
		text[i] = '\0';
		kp_mkfile(fname(i), text);
		assert_int_equal(lstat(fname(i), &want[i]), 0);
	}
	return sysport_start(NULL);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_burst_is_spread_over_the_cpus),
		cmocka_unit_test(pinned_to_one_cpu_nothing_is_spread),
		cmocka_unit_test(calls_one_at_a_time_are_not_spread),
		cmocka_unit_test(a_fixed_choice_never_spreads),
		cmocka_unit_test(threads_spread_side_by_side_each_message_once),
		cmocka_unit_test(stop_returns_spread_messages_once),
	};

	if (argc > 1) {		/* a child (kp_rerun()), in the parent's scratch directory */
		mknames();
		for (int i = 0; i < NFILES; i++)
			if (lstat(fname(i), &want[i]) != 0)
				return 2;
		return strcmp(argv[1], "fixed") == 0 ? fixed_child() : traced_child(argv[1]);
	}
	return cmocka_run_group_tests(tests, setup, kp_group_rmtree);
}
