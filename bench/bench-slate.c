/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-slate - a slate of N = 64 small calls on a cached file, run in
 * order with one sendsys(), against the same calls made one by one as
 * raw system calls, and against io_uring running the chain as 64 linked
 * SQEs with one submit-and-wait.
 *
 * The chain cycles fstat, lseek, pread (64 bytes); the slate feeds the
 * descriptor from a register to show that costs nothing either.
 * io_uring has no lseek: its chain puts a NOP there (and statx with
 * AT_EMPTY_PATH for fstat), which flatters it slightly.
 *
 * One op below is one whole chain of 64 calls.  SLATE_BENCH_ONLY=slate
 * runs only the slate loop (for valgrind --tool=callgrind).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "bench.h"
#include "msgport-slate.h"

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#define N 64

struct chain {
	int		fd;
	char		buf[N][64];
	struct stat	st[N];

	struct sys_slate sl;
	struct slate_entry ent[N];
	int64_t		regs[2];
	union {
		struct sys_fstat fs;
		struct sys_lseek ls;
		struct sys_pread pr;
	}		m[N];
#ifdef HAVE_LIBURING
	struct io_uring	ring;
	struct statx	stx[N];
#endif
};

static void
slate_setup(struct chain *c)
{
	struct slate_opts o;
	int i, r = 0;

	if (slate_init(&c->sl, c->ent, N, c->regs, 2) != 0)
		abort();
	c->regs[1] = c->fd;
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0, o.inreg[0] = 1;		/* the fd comes from r1 */
	for (i = 0; i < N; i++) {
		switch (i % 3) {
		case 0:
			prep_fstat(&c->m[i].fs, -1, &c->st[i]);
			r = slate_add(&c->sl, &c->m[i].fs.hdr, sizeof(c->m[i].fs), &o);
			break;
		case 1:
			prep_lseek(&c->m[i].ls, -1, i * 64, SEEK_SET);
			r = slate_add(&c->sl, &c->m[i].ls.hdr, sizeof(c->m[i].ls), &o);
			break;
		case 2:
			prep_pread(&c->m[i].pr, -1, c->buf[i], 64, i * 64);
			r = slate_add(&c->sl, &c->m[i].pr.hdr, sizeof(c->m[i].pr), &o);
			break;
		}
		if (r != 0)
			abort();
	}
}

static void
run_slate(void *arg, long iters)
{
	struct chain *c = arg;
	msgport_t *sp = sysport();

	while (iters-- > 0)
		if (sendsys(sp, &c->sl.hdr, sizeof(c->sl)) != 0)
			abort();
}

static void
run_raw(void *arg, long iters)
{
	struct chain *c = arg;
	int i;

	while (iters-- > 0) {
		for (i = 0; i < N; i++) {
			switch (i % 3) {
			case 0:
				if (fstat(c->fd, &c->st[i]) != 0)
					abort();
				break;
			case 1:
				if (lseek(c->fd, i * 64, SEEK_SET) < 0)
					abort();
				break;
			case 2:
				if (pread(c->fd, c->buf[i], 64, i * 64) != 64)
					abort();
				break;
			}
		}
	}
}

#ifdef HAVE_LIBURING
static void
run_uring(void *arg, long iters)
{
	struct chain *c = arg;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int i;

	while (iters-- > 0) {
		for (i = 0; i < N; i++) {
			sqe = io_uring_get_sqe(&c->ring);
			switch (i % 3) {
			case 0:
				io_uring_prep_statx(sqe, c->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS,
				    &c->stx[i]);
				break;
			case 1:
				io_uring_prep_nop(sqe);
				break;
			case 2:
				io_uring_prep_read(sqe, c->fd, c->buf[i], 64, (uint64_t)i * 64);
				break;
			}
			if (i != N - 1)
				sqe->flags |= IOSQE_IO_LINK;
		}
		if (io_uring_submit_and_wait(&c->ring, N) != N)
			abort();
		for (i = 0; i < N; i++) {
			if (io_uring_wait_cqe(&c->ring, &cqe) != 0 || cqe->res < 0)
				abort();
			io_uring_cqe_seen(&c->ring, cqe);
		}
	}
}
#endif

int
main(void)
{
	static struct chain c;
	char path[] = "/tmp/bench-slate-XXXXXX", data[N * 64];
	const char *only = getenv("SLATE_BENCH_ONLY");

	if ((c.fd = mkstemp(path)) < 0)
		return 1;
	unlink(path);
	memset(data, 'x', sizeof(data));
	if (write(c.fd, data, sizeof(data)) != (ssize_t)sizeof(data))
		return 1;
	if (sysport() == NULL)
		return 1;
	slate_setup(&c);

	if (only != NULL && strcmp(only, "slate") == 0) {
		run_slate(&c, bench_iters(10000));
		return 0;
	}
	if (only != NULL && strcmp(only, "raw") == 0) {
		run_raw(&c, bench_iters(10000));
		return 0;
	}

	printf("bench-slate: medians of %d runs, one op = a chain of %d calls\n", bench_runs(), N);
	bench_compare("slate64_inorder_vs_raw", "slate, one sendsys", run_slate, &c,
	    "raw syscalls one by one", run_raw, &c, 20000);
#ifdef HAVE_LIBURING
	if (io_uring_queue_init(N, &c.ring, 0) == 0) {
		bench_compare("slate64_inorder_vs_uring", "slate, one sendsys", run_slate, &c,
		    "io_uring, 64 linked SQEs", run_uring, &c, 20000);
		io_uring_queue_exit(&c.ring);
	} else {
		printf("io_uring unavailable: no io_uring baseline\n");
	}
#endif
	return 0;
}
