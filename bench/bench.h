/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench.h - the harness every msgport benchmark shares.
 *
 * A comparison runs msgport and its baseline alternately, several runs
 * each, so both see the same machine; it reports per-operation medians
 * and ends with one machine-readable line:
 *
 *	RATIO <name> <msgport median / baseline median>
 *
 * Lower is better; 1.0 means as fast as the baseline.  MSGPORT_BENCH_RUNS
 * and MSGPORT_BENCH_SCALE (a float multiplying the iteration counts)
 * trade time for steadier figures; MSGPORT_BENCH_ONLY=WORD runs only the
 * comparisons whose name begins with WORD.
 */
#include <string.h>
#ifndef MSGPORT_BENCH_H
#define MSGPORT_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* One timed run: do the operation iters times. */
typedef void (*bench_fn)(void *arg, long iters);

static inline double
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static inline double
bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline int
bench_runs(void)
{
	const char *s = getenv("MSGPORT_BENCH_RUNS");
	int n = s ? atoi(s) : 7;

	return n < 1 ? 1 : n > 101 ? 101 : n;
}

static inline long
bench_iters(long iters)
{
	const char *s = getenv("MSGPORT_BENCH_SCALE");
	double k = s ? atof(s) : 1.0;
	long n = (long)((double)iters * (k > 0 ? k : 1.0));

	return n < 1 ? 1 : n;
}

/* Time one run of fn: nanoseconds per operation. */
static inline double
bench_once(bench_fn fn, void *arg, long iters)
{
	double t0 = bench_now_ns();

	fn(arg, iters);
	return (bench_now_ns() - t0) / (double)iters;
}

/*
 * bench_compare
 *	Run ours and the baseline alternately (after one warm-up each),
 *	print both medians and the RATIO line; returns the ratio.
 */
static inline double
bench_compare(const char *name, const char *ours_label, bench_fn ours, void *oarg,
    const char *base_label, bench_fn base, void *barg, long iters)
{
	double o[101], b[101], om, bm;
	int runs = bench_runs(), i;
	const char *only = getenv("MSGPORT_BENCH_ONLY");

	if (only != NULL && strncmp(name, only, strlen(only)) != 0)
		return 0;
	iters = bench_iters(iters);
	ours(oarg, iters / 10 + 1);
	base(barg, iters / 10 + 1);
	for (i = 0; i < runs; i++) {
		o[i] = bench_once(ours, oarg, iters);
		b[i] = bench_once(base, barg, iters);
	}
	om = bench_median(o, runs);
	bm = bench_median(b, runs);
	printf("%-34s %-28s %10.1f ns/op\n", name, ours_label, om);
	printf("%-34s %-28s %10.1f ns/op\n", "", base_label, bm);
	printf("RATIO %s %.3f\n", name, om / bm);
	fflush(stdout);
	return om / bm;
}

#endif /* MSGPORT_BENCH_H */
