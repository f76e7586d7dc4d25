/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgport-run-preload.c - preloaded into the program msgport-run(1)
 * runs: every system call of every thread is sent to the system port as
 * a synchronous message (kport/record.c, the same Syscall User Dispatch
 * as slate recording).  A private copy of the library is linked in; only
 * pthread_create is exported, so that threads the program starts turn the
 * dispatch on too.  Counts go to the shared memory msgport-run gives
 * (MSGPORT_RUN_COUNTS, a descriptor).
 */
#define _GNU_SOURCE
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msgport-sys.h"
#include "owncalls-internal.h"
#include "record-internal.h"

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

struct run_start {
	void	*(*fn)(void *);
	void	*arg;
};

static void *
run_thread_start(void *p)
{
	struct run_start s = *(struct run_start *)p;

	free(p);
	mp_rec_run_thread();
	return s.fn(s.arg);
}

/* The program's threads dispatch too; the library's own (made with the
   selector at allow, or before the dispatch is on) do not. */
__attribute__((visibility("default"))) int
pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static create_fn real;
	struct run_start *s;
	int r;

	if (real == NULL)
		real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
	if (mp_rec_sel == 0 || (s = malloc(sizeof(*s))) == NULL)
		return real(th, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	if ((r = real(th, attr, run_thread_start, s)) != 0)
		free(s);
	return r;
}

/* A forked child starts without dispatch, and its system port must be
   started again (sysport(3)). */
static void
run_atfork_child(void)
{
	int r;

	mp_rec_forget();
	if ((r = sysport_start(NULL)) == 0 || r == EBUSY) {
		mp_rec_sysport = sysport();
		if (mp_rec_sysport != NULL)
			mp_rec_run_thread();
	}
}

__attribute__((constructor)) static void
run_init(void)
{
	const char *counts = getenv("MSGPORT_RUN_COUNTS");
	void *p;

	if (getenv("MSGPORT_RUN") == NULL)
		return;
	if (counts != NULL) {
		p = mmap(NULL, 2 * MP_REC_NSYS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
		    atoi(counts), 0);
		if (p != MAP_FAILED)
			mp_rec_counts = p;
	}
	if ((mp_rec_sysport = sysport()) == NULL)
		return;
	pthread_atfork(NULL, NULL, run_atfork_child);
	mp_rec_run_thread();
}
