/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-record.c - the cost of tape recording per call: the same cached
 * 64-byte preads made plainly, made while recording them
 * (slate_record_begin, SLATE_REC_FILE), and made while the dispatch
 * traps them but their class is not recorded (the Syscall User Dispatch
 * round trip alone).  Then the recorded tape replayed with one sendsys,
 * against the plain calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"
#include "msgport-slate.h"

#define NCALLS	4096	/* calls one recording holds */

struct rec {
	struct sys_slate sl;
	struct slate_entry ent[NCALLS];
	int64_t regs[4];
	struct sys_syscall msg[NCALLS];
	struct slate_tape tp;
	int fd;
	unsigned what;
	char buf[64];
};

static void
plain(void *arg, long iters)
{
	struct rec *r = arg;
	long i;

	for (i = 0; i < iters; i++)
		if (pread(r->fd, r->buf, sizeof(r->buf), 0) != sizeof(r->buf))
			abort();
}

/* iters calls, recorded NCALLS at a time (a begin and an end per batch). */
static void
recorded(void *arg, long iters)
{
	struct rec *r = arg;
	long done, n, i;

	for (done = 0; done < iters; done += n) {
		n = iters - done < NCALLS ? iters - done : NCALLS;
		slate_init(&r->sl, r->ent, NCALLS, r->regs, 4);
		memset(&r->tp, 0, sizeof(r->tp));
		r->tp.st_msg = r->msg;
		r->tp.st_nmsg = NCALLS;
		if (slate_record_begin(&r->sl, &r->tp, r->what, 0) != 0)
			abort();
		for (i = 0; i < n; i++)
			if (pread(r->fd, r->buf, sizeof(r->buf), 0) != sizeof(r->buf))
				abort();
		if (slate_record_end(&r->sl) != 0)
			abort();
	}
}

/* The recorded tape (NCALLS preads), run again: iters calls. */
static void
replay(void *arg, long iters)
{
	struct rec *r = arg;
	long done;

	for (done = 0; done < iters; done += NCALLS)
		if (sendsys(sysport(), &r->sl.hdr, sizeof(r->sl)) != 0)
			abort();
}

int
main(void)
{
	struct rec *r = calloc(1, sizeof(*r));
	char name[] = "/tmp/msgport-bench-record-XXXXXX";
	int fd = mkstemp(name);

	if (r == NULL || fd < 0 || write(fd, r->buf, sizeof(r->buf)) != sizeof(r->buf))
		return 1;
	unlink(name);
	r->fd = fd;
	if (sysport() == NULL)
		return 1;
	slate_init(&r->sl, r->ent, NCALLS, r->regs, 4);
	r->tp.st_msg = r->msg;
	r->tp.st_nmsg = NCALLS;
	if (slate_record_begin(&r->sl, &r->tp, SLATE_REC_FILE, 0) == ENOSYS) {
		printf("bench-record: no Syscall User Dispatch here: skipped\n");
		return 77;
	}
	slate_record_end(&r->sl);

	r->what = SLATE_REC_FILE;
	bench_compare("record-pread-vs-plain", "recorded (SLATE_REC_FILE)", recorded, r,
	    "plain pread", plain, r, 40000);
	r->what = SLATE_REC_SOCKET;
	bench_compare("trap-pread-vs-plain", "trapped, not recorded", recorded, r,
	    "plain pread", plain, r, 40000);
	r->what = SLATE_REC_FILE;
	recorded(r, NCALLS);	/* one tape of NCALLS preads */
	bench_compare("replay-pread-vs-plain", "the tape, one sendsys", replay, r,
	    "plain pread", plain, r, 40 * NCALLS);
	close(fd);
	free(r);
	return 0;
}
