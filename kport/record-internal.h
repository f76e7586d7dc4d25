/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * record-internal.h - tape recording (record.c): the table that says,
 * per system call number, its class, which arguments are descriptors,
 * whether its result is one, and which buffers SLATE_RECORD_COPY copies
 * (rectab.c).
 */
#ifndef MSGPORT_RECORD_INTERNAL_H
#define MSGPORT_RECORD_INTERNAL_H

#include <stdint.h>

#define MP_REC_NSYS	512	/* syscall numbers the table covers */

/* A buffer argument: where, what kind, how long. */
struct mp_rec_buf {
	uint8_t		rb_kind;	/* RB_* */
	uint8_t		rb_slot;	/* the argument holding the pointer */
	uint8_t		rb_len;		/* the argument holding a length or count; RB_NOLEN: none */
	uint8_t		pad_;
	uint16_t	rb_size;	/* bytes per count (or fixed bytes when rb_len is RB_NOLEN) */
};

enum {
	RB_NONE = 0,
	RB_STR,		/* in: a NUL-terminated string (a path) */
	RB_IN,		/* in: rb_len's count times rb_size bytes */
	RB_OUT,		/* out: the same, written by the call */
	RB_INOUT,	/* both (poll's array, wait4's status...) */
	RB_INLENP,	/* in: as many bytes as the socklen_t rb_len points to says */
	RB_OUTLENP,	/* out: the same */
	RB_IOVIN,	/* in: an iovec array of rb_len entries, and what it points to */
	RB_IOVOUT,	/* out: the same, the buffers written by the call */
	RB_IOCTL	/* ioctl's argument: its _IOC size and direction say */
};
#define RB_NOLEN	7

/* What a call needs beyond its table entry (rc_special). */
enum {
	RS_NONE = 0,
	RS_SIGRETURN,	/* the end of a signal handler: returned from, in the gate */
	RS_CLONE,	/* clone, clone3, fork, vfork: made from a gate stub in place */
	RS_EXEC,	/* execve, execveat: dispatch is off across it */
	RS_EXIT,	/* exit, exit_group: run, never recorded */
	RS_SIGMASK,	/* rt_sigprocmask: applied to the mask the handler returns to */
	RS_SIGSUSPEND,	/* rt_sigsuspend: never with SIGSYS blocked */
	RS_SIGACTION,	/* rt_sigaction: SIGSYS is the recorder's */
	RS_PRCTL,	/* prctl: the dispatch is the recorder's */
	RS_FCNTL	/* fcntl: F_DUPFD and F_DUPFD_CLOEXEC return a descriptor */
};

/* Flags (rc_flags). */
#define RC_NEWFD	0x01u	/* a non-negative result is a new descriptor */
#define RC_CLOSE	0x02u	/* argument 0's descriptor is closed by the call */
#define RC_FOLLOW	0x04u	/* recorded whatever `what` says when a descriptor
				   argument came from a recorded call */
#define RC_NEVER	0x08u	/* run, never recorded */

struct mp_rec_call {
	uint16_t	rc_class;	/* SLATE_REC_* (0: unknown, SLATE_REC_OTHER) */
	uint8_t		rc_fds;		/* bit k: argument k is a descriptor */
	uint8_t		rc_flags;	/* RC_* */
	uint8_t		rc_special;	/* RS_* */
	uint8_t		pad_[3];
	struct mp_rec_buf rc_buf[3];
};

extern const struct mp_rec_call mp_rectab[MP_REC_NSYS];

/* msgport-run (tools/msgport-run-preload.c): send every call of the
   calling thread to mp_rec_sysport as a message, counting calls and
   errors in mp_rec_counts[nr] and mp_rec_counts[MP_REC_NSYS + nr] (NULL:
   no counts); mp_rec_forget() in a forked child. */
struct msgport;
extern struct msgport *mp_rec_sysport;
extern uint64_t *mp_rec_counts;
int	mp_rec_run_thread(void);
void	mp_rec_forget(void);

#endif /* MSGPORT_RECORD_INTERNAL_H */
