/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * systab.c - the system port's command table: for each command, its
 * message size, whether it may block, whether it waits on a pollable
 * descriptor, and its handlers (see struct kcmd).  This table is the one
 * place that says how a call is executed; sysport.c only reads it.
 *
 * Designated initializers keep entry and command together; mp_systab_check()
 * runs at every start and refuses a table with a hole or an incoherent
 * entry.
 */
#include "config.h"

#include <stdio.h>

#include "kport-internal.h"
#include "msgport-slate.h"

/* A call that never blocks: always inline. */
#define INLINE(cmd, name, type) \
	[cmd] = { #name, sizeof(struct type), 0, mp_krun_##name, NULL, NULL, NULL, NULL, NULL }
/* A call that can only block: asynchronous ones go to the pool.  more:
   KC_NOINTR if the kernel does not cut it short once it runs. */
#define BLOCKS(cmd, name, type, more) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS | (more), mp_krun_##name, NULL, NULL, NULL, NULL, NULL }
/* A call that can only block, but seldom does: while it has not been
   blocking, asynchronous ones run inline (guess.c); else in the pool.
   All of them are file system work: KC_NOINTR. */
#define GUESSES(cmd, name, type) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS | KC_GUESS | KC_NOINTR, mp_krun_##name, \
		  NULL, NULL, NULL, NULL, NULL }
/* A call with a non-blocking try; if that would block, the pool runs it. */
#define TRIES(cmd, name, type) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS, mp_krun_##name, mp_ktry_##name, NULL, NULL, NULL, NULL }
/* As TRIES, and a worker can be interrupted while it waits. */
#define INTR(cmd, name, type, try) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS, mp_krun_##name, try, mp_kintr_##name, NULL, NULL, NULL }
/* Would-block waits in the event loop when the descriptor is pollable. */
#define POLLS(cmd, name, type, more) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS | KC_POLLABLE | (more), \
		  mp_krun_##name, mp_ktry_##name, NULL, mp_kfd_##name, NULL, NULL }
/* As POLLS, with the pool's own form (kc_intr). */
#define POLLS_INTR(cmd, name, type, more) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS | KC_POLLABLE | (more), \
		  mp_krun_##name, mp_ktry_##name, mp_kintr_##name, mp_kfd_##name, NULL, NULL }
/* As TRIES and POLLS, and a plugged thread's ring can try it (plug.c). */
#define RING_TRIES(cmd, name, type, more) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS | (more), mp_krun_##name, mp_ktry_##name, NULL, \
		  NULL, mp_ksqe_##name, NULL }
#define RING_POLLS(cmd, name, type, more) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS | KC_POLLABLE | (more), \
		  mp_krun_##name, mp_ktry_##name, NULL, mp_kfd_##name, mp_ksqe_##name, NULL }

/* A call that only waits for time: asynchronous ones wait as a timer of
   the event loop, holding no worker (kc_sleep). */
#define SLEEPS(cmd, name, type) \
	[cmd] = { #name, sizeof(struct type), KC_BLOCKS, mp_krun_##name, NULL, NULL, NULL, NULL, \
		  mp_ksleep_##name }

/* A persistent message: kc_run arms it (signal.c, timer.c). */
#define PERSIST(cmd, name, type) \
	[cmd] = { #name, sizeof(struct type), KC_PERSIST, mp_krun_##name, NULL, NULL, NULL, NULL, NULL }

const struct kcmd mp_systab[KCMD_MAX] = {
	/* files */
	TRIES(KCMD_OPENAT, openat, sys_openat),
	INLINE(KCMD_CLOSE, close, sys_close),
	RING_POLLS(KCMD_READ, read, sys_read, 0),
	RING_POLLS(KCMD_WRITE, write, sys_write, 0),
	/* positioned: files and block devices, which the kernel finishes */
	RING_TRIES(KCMD_PREAD, pread, sys_pread, KC_NOINTR),
	RING_TRIES(KCMD_PWRITE, pwrite, sys_pwrite, KC_NOINTR),
	RING_POLLS(KCMD_READV, readv, sys_readv, 0),
	RING_POLLS(KCMD_WRITEV, writev, sys_writev, 0),
	INLINE(KCMD_LSEEK, lseek, sys_lseek),
	INLINE(KCMD_FSTAT, fstat, sys_fstat),
	GUESSES(KCMD_FSTATAT, fstatat, sys_fstatat),
	GUESSES(KCMD_FSTATATV, fstatatv, sys_fstatatv),
	GUESSES(KCMD_STATX, statx, sys_statx),
	BLOCKS(KCMD_FSYNC, fsync, sys_fsync, KC_NOINTR),
	BLOCKS(KCMD_FDATASYNC, fdatasync, sys_fsync, KC_NOINTR),
	BLOCKS(KCMD_FTRUNCATE, ftruncate, sys_ftruncate, KC_NOINTR),
	GUESSES(KCMD_GETDENTS64, getdents64, sys_getdents64),
	BLOCKS(KCMD_MKDIRAT, mkdirat, sys_mkdirat, KC_NOINTR),
	BLOCKS(KCMD_UNLINKAT, unlinkat, sys_unlinkat, KC_NOINTR),
	BLOCKS(KCMD_RENAMEAT, renameat, sys_renameat, KC_NOINTR),

	/* sockets */
	INLINE(KCMD_SOCKET, socket, sys_socket),
	INLINE(KCMD_BIND, bind, sys_bind),
	INLINE(KCMD_LISTEN, listen, sys_listen),
	POLLS(KCMD_ACCEPT4, accept4, sys_accept4, KC_SOCKET),
	POLLS_INTR(KCMD_CONNECT, connect, sys_connect, KC_SOCKET),
	RING_POLLS(KCMD_SENDTO, sendto, sys_sendto, KC_SOCKET),
	RING_POLLS(KCMD_RECVFROM, recvfrom, sys_recvfrom, KC_SOCKET),
	RING_POLLS(KCMD_SENDMSG, sendmsg, sys_sendmsg, KC_SOCKET),
	RING_POLLS(KCMD_RECVMSG, recvmsg, sys_recvmsg, KC_SOCKET),
	INLINE(KCMD_SHUTDOWN, shutdown, sys_shutdown),

	/* waiting, processes */
	INTR(KCMD_POLL, poll, sys_poll, mp_ktry_poll),
	SLEEPS(KCMD_NANOSLEEP, nanosleep, sys_nanosleep),
	INLINE(KCMD_GETPID, getpid, sys_getpid),
	INLINE(KCMD_KILL, kill, sys_kill),
	INTR(KCMD_WAITPID, waitpid, sys_waitpid, mp_ktry_waitpid),

	/* anything else */
	BLOCKS(KCMD_SYSCALL, syscall, sys_syscall, 0),

	/* persistent: armed here, returned by their own thread */
	PERSIST(KCMD_SIGNAL, signal, sys_signal),
	PERSIST(KCMD_TIMER, timer, sys_timer),

	/* batches: its try checks it, the pool runs it (slate.c) */
	TRIES(KCMD_SLATE, slate, sys_slate),
};

/*
 * mp_systab_check
 *	Every command has an entry; an entry's flags agree with its handlers.
 *	Returns 0, or ENOTRECOVERABLE naming the bad entry on stderr.
 */
int
mp_systab_check(void)
{
	const struct kcmd *kc;
	uint32_t cmd;

	for (cmd = 1; cmd < KCMD_MAX; cmd++) {
		kc = &mp_systab[cmd];
		if (kc->kc_name == NULL || kc->kc_run == NULL || kc->kc_size < sizeof(msg_t) ||
		    ((kc->kc_flags & KC_POLLABLE) && (kc->kc_try == NULL || kc->kc_fd == NULL)) ||
		    (kc->kc_sqe != NULL && kc->kc_try == NULL) ||
		    ((kc->kc_flags & KC_NOINTR) && kc->kc_intr != NULL) ||
		    (!(kc->kc_flags & KC_BLOCKS) && (kc->kc_try || kc->kc_intr))) {
			fprintf(stderr, "msgport: system command %u (%s) is malformed\n", cmd,
			    kc->kc_name ? kc->kc_name : "empty");
			return ENOTRECOVERABLE;
		}
	}
	return 0;
}
