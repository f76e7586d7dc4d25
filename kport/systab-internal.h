/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * systab-internal.h - the system port's command table (systab.c): what
 * each command is, how it runs, and what its arguments are.  The one
 * list of commands: the executors, slates (which arguments a register may
 * feed) and the fuzzer (which calls read user memory) all read it.
 */
#ifndef SYSTAB_INTERNAL_H
#define SYSTAB_INTERNAL_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "msgport-sys.h"

#pragma GCC visibility push(hidden)

/*
 * An argument slot of a command, in the order of the call's arguments:
 * where in the message, how wide, and what it is.  Slot k of a slate
 * entry (se_inarg) is kc_args[k]; only integers and descriptors may be
 * fed from a register.
 */
struct karg {
	uint16_t	ka_off;		/* offset in the message */
	uint8_t		ka_size;	/* bytes; 0: past the last argument */
	uint8_t		ka_kind;	/* KA_* */
};

#define KA_INT		1	/* a number */
#define KA_FD		2	/* a descriptor (a number too) */
#define KA_IN		3	/* a pointer to memory the call reads */
#define KA_OUT		4	/* a pointer to memory the call only writes */
#define KARGS		8	/* slots per command (se_inarg < KARGS) */

/*
 * A command table entry.  Handlers take the message, store the call's
 * return value in ms_result (-1 on failure) and return 0 or the errno.
 *
 * kc_run	Run the call, blocking if it must: the synchronous path and
 *		the worker pool.  Never NULL.
 * kc_try	Run it without blocking; EAGAIN means it would block (and
 *		nothing was done).  NULL: the call has no such form and an
 *		asynchronous message goes straight to the pool.
 * kc_intr	The worker's own form of a call that an interrupted plain run
 *		could not simply restart (a sleep's deadline, a connection
 *		under way): like kc_run, but it waits in mp_kwait() and returns
 *		ECANCELED if the message was aborted.  NULL: the worker runs
 *		kc_run, and restarts it on an EINTR the abort did not cause.
 * kc_fd	Pollable commands: the descriptor and the libevent events
 *		(KEV_READ/KEV_WRITE) to wait for when kc_try says EAGAIN.
 * kc_sqe	kc_try as an io_uring request, for a plugged thread to try
 *		many at once (plug.c): fill sqe, non-blocking, and return 0;
 *		or return EINVAL for a message the ring cannot express, which
 *		is then tried at once with kc_try.  NULL: never in a ring.
 * kc_sleep	A call that only waits for time to pass: with left false, how
 *		long into *t (0), or why it cannot be (an errno, ms_result
 *		-1); with left true, the sleep was cut short with *t left
 *		(stored where the call says, as nanosleep's rem).  An
 *		asynchronous one waits as a timer of the event loop, holding
 *		no worker: nanosleep was DragonFly's first asynchronous call.
 *		NULL: not a sleep.
 * kc_args	The call's arguments, for slates and the fuzzer.
 */
struct kcmd {
	const char	*kc_name;
	uint32_t	kc_size;	/* the message's size: sendsys checks msgsize */
	uint32_t	kc_flags;	/* KC_* */
	int		(*kc_run)(msg_t *msg);
	int		(*kc_try)(msg_t *msg);
	int		(*kc_intr)(msg_t *msg);
	int		(*kc_fd)(msg_t *msg, short *events);
	int		(*kc_sqe)(msg_t *msg, struct io_uring_sqe *sqe);
	int		(*kc_sleep)(msg_t *msg, struct timespec *t, bool left);
	struct karg	kc_args[KARGS];
} __attribute__((aligned(128)));
/* NOTE: 128 bytes, a power of two: the synchronous path finds its entry
   with a shift, 2 instructions fewer per call than 96 bytes' multiply
   (bench/callgrind-kport.sh: 73 for getpid, 134 for pread), and the
   fields it reads share one cache line. */

#define KC_BLOCKS	0x01u	/* may block: asynchronous messages may leave the sender */
#define KC_POLLABLE	0x02u	/* would-block waits for readiness on kc_fd(), if a socket or pipe */
#define KC_SOCKET	0x04u	/* kc_fd() is always a socket: no need to look at its type */
/* Persistent (signal.c, timer.c): must be sent MSGF_ASYNC | MSGF_PERSISTENT;
   kc_run arms it, returning EASYNC, or an errno to refuse it with.  Its
   own thread returns it from then on (see persist-internal.h).  Never a
   slate's entry. */
#define KC_PERSIST	0x08u
#define KC_GUESS	0x10u	/* no non-blocking form: run inline while it has not blocked (guess.c) */
/* Once running, the kernel does not cut it short for a signal (file system
   work in uninterruptible sleep): not MSGF_ABORTABLE while a worker runs it. */
#define KC_NOINTR	0x20u
#define KC_ZERONOTYET	0x40u	/* a result of 0 means "not done yet" (poll, WNOHANG): a slate polls it */
#define KC_NOSLATE	0x80u	/* never a slate's entry (a slate itself) */
/* Moves the bytes of one peer's stream (a read, write, send, receive):
   finished in place while replies wait on its port, its reply takes its
   turn behind them (sysport.c, kturn).  Not accept4: a listening socket
   stands for many clients, and one accept a turn would keep a backlog
   of them waiting for their first request. */
#define KC_STREAM	0x100u

/* kc_fd events, the same bits as libevent's EV_READ and EV_WRITE */
#define KEV_READ	0x02
#define KEV_WRITE	0x04

extern const struct kcmd mp_systab[KCMD_MAX];
int	mp_systab_check(void);
const char *mp_systab_fault(const struct kcmd *kc);	/* why kc is malformed, or NULL */

/* The handlers, one file per family. */
/* sys_file.c */
int	mp_krun_openat(msg_t *msg);
int	mp_ktry_openat(msg_t *msg);
int	mp_krun_close(msg_t *msg);
int	mp_krun_read(msg_t *msg);
int	mp_ktry_read(msg_t *msg);
int	mp_ksqe_read(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_read(msg_t *msg, short *events);
int	mp_krun_write(msg_t *msg);
int	mp_ktry_write(msg_t *msg);
int	mp_ksqe_write(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_write(msg_t *msg, short *events);
int	mp_krun_pread(msg_t *msg);
int	mp_ktry_pread(msg_t *msg);
int	mp_ksqe_pread(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_krun_pwrite(msg_t *msg);
int	mp_ktry_pwrite(msg_t *msg);
int	mp_ksqe_pwrite(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_krun_readv(msg_t *msg);
int	mp_ktry_readv(msg_t *msg);
int	mp_ksqe_readv(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_readv(msg_t *msg, short *events);
int	mp_krun_writev(msg_t *msg);
int	mp_ktry_writev(msg_t *msg);
int	mp_ksqe_writev(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_writev(msg_t *msg, short *events);
int	mp_krun_lseek(msg_t *msg);
int	mp_krun_fstat(msg_t *msg);
int	mp_krun_fstatat(msg_t *msg);
int	mp_krun_fstatatv(msg_t *msg);
int	mp_krun_statx(msg_t *msg);
int	mp_krun_fsync(msg_t *msg);
int	mp_krun_fdatasync(msg_t *msg);
int	mp_krun_ftruncate(msg_t *msg);
int	mp_krun_getdents64(msg_t *msg);
int	mp_krun_mkdirat(msg_t *msg);
int	mp_krun_unlinkat(msg_t *msg);
int	mp_krun_renameat(msg_t *msg);
int	mp_krun_sendfile(msg_t *msg);
int	mp_ktry_sendfile(msg_t *msg);
int	mp_kfd_sendfile(msg_t *msg, short *events);

/* sys_socket.c */
int	mp_krun_socket(msg_t *msg);
int	mp_krun_bind(msg_t *msg);
int	mp_krun_listen(msg_t *msg);
int	mp_krun_accept4(msg_t *msg);
int	mp_ktry_accept4(msg_t *msg);
int	mp_kfd_accept4(msg_t *msg, short *events);
int	mp_krun_connect(msg_t *msg);
int	mp_ktry_connect(msg_t *msg);
int	mp_kintr_connect(msg_t *msg);
int	mp_kfd_connect(msg_t *msg, short *events);
int	mp_krun_sendto(msg_t *msg);
int	mp_ktry_sendto(msg_t *msg);
int	mp_ksqe_sendto(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_sendto(msg_t *msg, short *events);
int	mp_krun_recvfrom(msg_t *msg);
int	mp_ktry_recvfrom(msg_t *msg);
int	mp_ksqe_recvfrom(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_recvfrom(msg_t *msg, short *events);
int	mp_krun_sendmsg(msg_t *msg);
int	mp_ktry_sendmsg(msg_t *msg);
int	mp_ksqe_sendmsg(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_sendmsg(msg_t *msg, short *events);
int	mp_krun_recvmsg(msg_t *msg);
int	mp_ktry_recvmsg(msg_t *msg);
int	mp_ksqe_recvmsg(msg_t *msg, struct io_uring_sqe *sqe);
int	mp_kfd_recvmsg(msg_t *msg, short *events);
int	mp_krun_shutdown(msg_t *msg);

/* sys_proc.c */
int	mp_krun_getpid(msg_t *msg);
int	mp_krun_kill(msg_t *msg);
int	mp_krun_waitpid(msg_t *msg);
int	mp_ktry_waitpid(msg_t *msg);
int	mp_kintr_waitpid(msg_t *msg);
int	mp_krun_poll(msg_t *msg);
int	mp_ktry_poll(msg_t *msg);
int	mp_kintr_poll(msg_t *msg);
int	mp_krun_nanosleep(msg_t *msg);
int	mp_ksleep_nanosleep(msg_t *msg, struct timespec *t, bool left);

/* sys_indirect.c */
int	mp_krun_syscall(msg_t *msg);

/* signal.c, timer.c: persistent messages */
int	mp_krun_signal(msg_t *msg);
int	mp_krun_timer(msg_t *msg);

/* slate.c */
int	mp_krun_slate(msg_t *msg);
int	mp_ktry_slate(msg_t *msg);

#pragma GCC visibility pop

#endif /* SYSTAB_INTERNAL_H */
