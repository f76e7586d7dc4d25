/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guess.c - predictive inline: running a call that has no non-blocking
 * form in the sender's thread while such calls do not block.
 *
 * lstat(), getdents64() and their kind have no RWF_NOWAIT: the only way
 * to know whether one blocks is to make it.  So every run of such a call
 * reports whether it blocked, and each command keeps the share of recent
 * runs that did.  A blocked run costs a hundred quick ones or more, so
 * even a small share of them makes the pool the better place: while the
 * share stays near zero (a hot cache) an asynchronous message of the
 * command runs inline, as cheaply as the raw call, and sendsys() returns
 * its outcome at once; once two in about a thousand runs blocked (a cold
 * cache) they go to the worker pool, where their I/O overlaps, and the
 * pool's own runs bring the share down again once the cache is warm.
 *
 * "Blocked" means the thread gave up the CPU waiting (a voluntary context
 * switch, from getrusage), not merely that the run took long: on a busy
 * machine a quick call is often preempted, and a pool of many workers on
 * few CPUs is preempted all the time.  A run only reads the clock, and
 * asks the kernel only when the run took longer than GUESS_SLOW_NS
 * (whether the thread switched since it last asked); a pool worker asks
 * once more before each batch, after its sleep waiting for work.
 *
 * The shares are shared by all threads, since the cache is: plain relaxed
 * loads and stores, no read-modify-write; a lost update only nudges a
 * moving average.
 * MSGPORT_GUESS=inline or =pool in the environment fixes the choice
 * (for experiments, and for tests that must cover both paths).
 *
 * A thread that sends such calls back to back (each within GUESS_BURST_NS
 * of the last, GUESS_STREAK of them in a row: a hot tree walk) is in a
 * burst: then its next inline-able call may be spread to a helper on
 * another CPU instead (pool.c, mp_pool_spreadable()), so that a walk
 * whose calls all complete in place still uses the CPUs the process has.
 * A lone call, and every call while the choice is fixed, runs inline.
 *
 * The clock is the CPU's time-stamp counter where there is one (a few
 * nanoseconds to read), calibrated once against CLOCK_MONOTONIC.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "guess-internal.h"
#include "kport-internal.h"
#include "pool-internal.h"

#define GUESS_SLOW_NS	30000		/* an inline run this long may have blocked: ask */
#define GUESS_ONE	(1u << 24)	/* fixed point 1.0 for the slow share */
#define GUESS_DECAY	10		/* the share averages about 2^10 runs */
#define GUESS_POOL	(GUESS_ONE >> 9)	/* pool from two slow in ~1000 runs */
#define GUESS_BURST_NS	200000		/* sends this close together are a burst */
#define GUESS_STREAK	4		/* once this many followed each other */
#define GUESS_CAL_NS	50000		/* the clock's calibration: 50 us */

static uint64_t guess_slow;		/* GUESS_SLOW_NS in clock ticks */
static uint64_t guess_burst;		/* GUESS_BURST_NS in clock ticks */
static int guess_fixed;			/* 0: learn; 1: always inline; -1: always the pool */
static pthread_once_t guess_once = PTHREAD_ONCE_INIT;

/* Per command, shared by every thread: the moving share of blocked runs. */
static uint32_t guess_share[KCMD_MAX];

/* Per thread: voluntary context switches when it last asked. */
static __thread long guess_nvcsw __attribute__((tls_model("initial-exec")));

/* Per thread: when it last sent an inline-able call, and how many such
   sends in a row came within guess_burst of each other. */
static __thread uint64_t guess_last __attribute__((tls_model("initial-exec")));
static __thread uint32_t guess_streak __attribute__((tls_model("initial-exec")));

static inline uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
#define GUESS_TSC	1
static inline uint64_t guess_clock(void) { return __rdtsc(); }
#else
#define GUESS_TSC	0		/* guess_clock() is in nanoseconds */
static inline uint64_t guess_clock(void) { return monotonic_ns(); }
#endif

/*
 * clock_pair
 *	CLOCK_MONOTONIC, and in *ticks guess_clock() read around it; *gap is
 *	how many ticks the monotonic read took (a preemption inside it shows
 *	as a large gap).
 */
static uint64_t
clock_pair(uint64_t *ticks, uint64_t *gap)
{
	uint64_t a = guess_clock(), n = monotonic_ns(), b = guess_clock();

	*ticks = a + (b - a) / 2;
	*gap = b - a;
	return n;
}

/*
 * guess_calibrate
 *	Ticks per nanosecond, from two pairs of readings GUESS_CAL_NS apart.
 *	Short, since every process that starts the system port spins it
 *	before its first call (a millisecond was a sixth of a small walk's
 *	start-up); both clocks run on through a preemption, so only one
 *	between the two reads of a pair spoils it: then it is measured again.
 */
static void
guess_calibrate(void)
{
	const char *env = getenv("MSGPORT_GUESS");
	uint64_t n0, n1, t0, t1, g0, g1;

	if (env != NULL && strcmp(env, "inline") == 0)
		guess_fixed = 1;
	else if (env != NULL && strcmp(env, "pool") == 0)
		guess_fixed = -1;
	guess_slow = GUESS_SLOW_NS;
	guess_burst = GUESS_BURST_NS;
	if (!GUESS_TSC)
		return;
	for (int i = 0; i < 3; i++) {
		n0 = clock_pair(&t0, &g0);
		do
			n1 = clock_pair(&t1, &g1);
		while (n1 - n0 < GUESS_CAL_NS);
		if ((g0 + g1) * 100 < t1 - t0)	/* within 1% */
			break;
	}
	if (t1 > t0 && (t1 - t0) * GUESS_SLOW_NS / (n1 - n0) != 0) {	/* it ticks */
		guess_slow = (t1 - t0) * GUESS_SLOW_NS / (n1 - n0);
		guess_burst = (t1 - t0) * GUESS_BURST_NS / (n1 - n0);
	}
}

void
mp_kguess_init(void)
{
	pthread_once(&guess_once, guess_calibrate);
}

/*
 * mp_kguess_inline
 *	Should this thread run an asynchronous message of cmd inline?
 */
bool
mp_kguess_inline(uint32_t cmd)
{
	if (guess_fixed != 0)
		return guess_fixed > 0;
	return mp_load_32(&guess_share[cmd]) < GUESS_POOL;
}

/*
 * mp_kguess_spread
 *	This thread would run a call inline: should a helper run it instead?
 *	Only in a burst (see above), and only while the pool has room for it.
 */
bool
mp_kguess_spread(void)
{
	uint64_t now = guess_clock(), gap = now - guess_last;

	guess_last = now;
	if (guess_fixed != 0 || gap > guess_burst) {
		guess_streak = 0;
		return false;
	}
	if (guess_streak < GUESS_STREAK) {
		guess_streak++;
		return false;
	}
	return mp_pool_spreadable();
}

/* This thread's voluntary context switches so far. */
static long
nvcsw(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

static void
guess_learn(uint32_t cmd, bool blocked)
{
	uint32_t share = mp_load_32(&guess_share[cmd]);

	share = share - (share >> GUESS_DECAY) + (blocked ? GUESS_ONE >> GUESS_DECAY : 0);
	mp_store_32(&guess_share[cmd], share);
}

/*
 * mp_kguess_run
 *	Run msg in the sender's thread and learn whether it blocked.
 */
int
mp_kguess_run(msg_t *msg, const struct kcmd *kc)
{
	uint64_t t0 = guess_clock();
	int error = kc->kc_run(msg);
	long n;

	if (guess_clock() - t0 > guess_slow) {
		n = nvcsw();
		guess_learn(msg->ms_cmd, n != guess_nvcsw);
		guess_nvcsw = n;
	} else {
		guess_learn(msg->ms_cmd, false);
	}
	return error;
}

/*
 * mp_kguess_resync
 *	Forget this thread's context switches so far: a pool worker calls it
 *	before a batch, so that its sleep waiting for work does not count as
 *	a run that blocked.  Its runs then go through mp_kguess_run() like
 *	inline ones, asking the kernel only after a slow run.
 */
void
mp_kguess_resync(void)
{
	guess_nvcsw = nvcsw();
}
