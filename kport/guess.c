/*
 * guess.c - predictive inline: running a call that has no non-blocking
 * form in the sender's thread while such calls do not block.
 *
 * lstat(), getdents64() and their kind have no RWF_NOWAIT: the only way
 * to know whether one blocks is to make it.  So every run of such a call,
 * inline or in the pool, is timed, and each command keeps two numbers:
 * the usual time of a quick run, and the share of recent runs that were
 * slow -- far above the usual and above GUESS_SLOW_NS, which is what
 * waiting for a disk looks like.  A slow run costs a hundred quick ones
 * or more, so even a small share of them makes the pool the better
 * place: while the share stays near zero (a hot cache, a preemption now
 * and then) an asynchronous message of the command runs inline, as
 * cheaply as the raw call, and sendsys() returns its outcome at once;
 * once two in about a thousand runs were slow (a cold cache) they go to
 * the worker pool, where they overlap their I/O, and the pool's own
 * quick runs bring the share down again once the cache is warm.
 *
 * The numbers are shared by all threads, since the cache is: plain
 * relaxed loads and stores, no read-modify-write; a lost update only
 * nudges a moving average.
 * MSGPORT_GUESS=inline or =pool in the environment fixes the choice
 * (for experiments, and for tests that must cover both paths).
 *
 * The clock is the CPU's time-stamp counter where there is one (a few
 * nanoseconds to read), calibrated once against CLOCK_MONOTONIC.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "kport-internal.h"

#define GUESS_SLOW_NS	30000		/* a run longer than this (and the usual) blocked */
#define GUESS_ONE	(1u << 24)	/* fixed point 1.0 for the slow share */
#define GUESS_DECAY	10		/* the share averages about 2^10 runs */
#define GUESS_POOL	(GUESS_ONE >> 9)	/* pool from two slow in ~1000 runs */

static uint64_t guess_slow;		/* GUESS_SLOW_NS in clock ticks */
static int guess_fixed;			/* 0: learn; 1: always inline; -1: always the pool */
static pthread_once_t guess_once = PTHREAD_ONCE_INIT;

/* Per command, shared by every thread. */
struct guess {
	uint32_t	usual;		/* moving average of quick runs, in ticks */
	uint32_t	share;		/* moving share of slow runs, GUESS_ONE = all */
};
static struct guess guesses[KCMD_MAX];

static inline uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
static inline uint64_t guess_clock(void) { return __rdtsc(); }
#else
static inline uint64_t guess_clock(void) { return monotonic_ns(); }
#endif

/* Ticks per nanosecond, measured over a millisecond of spinning. */
static void
guess_calibrate(void)
{
	const char *env = getenv("MSGPORT_GUESS");
	uint64_t n0 = monotonic_ns(), t0 = guess_clock(), n1, t1;

	if (env != NULL && strcmp(env, "inline") == 0)
		guess_fixed = 1;
	else if (env != NULL && strcmp(env, "pool") == 0)
		guess_fixed = -1;
	do
		n1 = monotonic_ns();
	while (n1 - n0 < 1000000);
	t1 = guess_clock();
	guess_slow = (t1 - t0) * GUESS_SLOW_NS / (n1 - n0);
	if (guess_slow == 0)
		guess_slow = GUESS_SLOW_NS;
}

void
kguess_init(void)
{
	pthread_once(&guess_once, guess_calibrate);
}

/*
 * kguess_inline
 *	Should this thread run an asynchronous message of cmd inline?
 */
bool
kguess_inline(uint32_t cmd)
{
	if (guess_fixed != 0)
		return guess_fixed > 0;
	return mp_load_32(&guesses[cmd].share) < GUESS_POOL;
}

/*
 * kguess_run
 *	Run msg (inline or on a worker) and learn from how long it took.
 */
int
kguess_run(msg_t *msg, const struct kcmd *kc)
{
	struct guess *g = &guesses[msg->ms_cmd];
	uint64_t t0 = guess_clock(), dt;
	int error = kc->kc_run(msg);
	uint32_t usual = mp_load_32(&g->usual), share = mp_load_32(&g->share);
	bool slow;

	dt = guess_clock() - t0;
	slow = dt > guess_slow && dt > 8 * (uint64_t)usual;
	share = share - (share >> GUESS_DECAY) + (slow ? GUESS_ONE >> GUESS_DECAY : 0);
	mp_store_32(&g->share, share);
	if (!slow)
		mp_store_32(&g->usual, usual ? (uint32_t)(usual + ((int64_t)dt - (int64_t)usual) / 8)
		    : (uint32_t)dt);
	return error;
}
