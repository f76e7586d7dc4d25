/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgport-slate.h - slates: recorded, re-runnable batches of syscall
 * messages, with result registers, dependencies and guards.
 *
 * A slate is a small register machine whose instructions are system
 * calls.  Record the calls once (slate_add), then run the whole sequence
 * with one sendsys() of the slate, again and again.  The slate copies no
 * user memory: each entry points to its own syscall message (filled by a
 * prep_*() helper), and the pointers inside those messages are read at
 * every run, so changing a path or a buffer between runs changes what
 * the next run does.
 *
 *	regs	the user's int64_t array.  Register 0 is the zero register:
 *		it reads as 0 and writes to it are dropped (regs[0] is never
 *		touched), so a zeroed struct slate_opts means "no register".
 *	out	an entry's ms_result is stored in register se_out after it ran.
 *	in	before an entry runs, register se_inreg[k] is copied into
 *		argument slot se_inarg[k] of its message.  Slot n is the
 *		call's n-th argument (0-based, as in the prep_*() helper);
 *		only integer arguments (descriptors, counts, offsets,
 *		flags...) can be fed, never pointers.
 *	guard	an entry runs only if its guard holds: an earlier entry
 *		succeeded or failed, or a register compares to a literal or
 *		to another register.  Otherwise it is skipped.
 *	stop	a failed entry with SLATE_STOP (or any failed entry in a
 *		slate with SLATE_STOPFAIL) stops the rest: they are not run.
 *
 * Running: sendsys(sysport(), &sl.hdr, sizeof(sl)).  A synchronous run
 * executes every entry in the caller's thread, in order, and returns 0,
 * or the errno of the entry that stopped the run, or ECANCELED if the
 * slate was aborted; ms_result is the number of entries that ran.  With
 * SLATE_PARALLEL the entries are spread over the system port's worker
 * pool (the caller takes part): an entry waits for the entry its guard
 * names and for the previous entry using any register it uses, so
 * entries sharing a register keep their recorded order and registers end
 * up as in an in-order run.  An asynchronous slate (prep_async()) returns
 * EASYNC and is returned to its reply port, as any message; a pool
 * worker runs it.  abortsys() on a running slate stops the entries not
 * yet started (each ends SLATE_CANCELED with ECANCELED); entries running
 * in workers (a parallel slate's runners too) are interrupted, and end
 * SLATE_CANCELED too if that cut them short (see sysport(3)); the slate
 * is returned exactly once.
 *
 * After a run every entry's outcome is readable: se_status, and its
 * message's ms_error and ms_result as if it had been sent alone.  An
 * entry that did not run has ms_error ECANCELED and ms_result -1 and does
 * not write its register.
 *
 * Memory: the user owns the slate, the entries, the registers and the
 * messages; nothing is allocated per run.  struct slate_entry is 64
 * bytes; struct sys_slate about 0.9 KiB (its parallel runners live in it).
 * Do not touch any of it while the slate is in flight.
 */
#ifndef MSGPORT_SLATE_H
#define MSGPORT_SLATE_H

#include <msgport-sys.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __GNUC__
#pragma GCC visibility push(default)	/* see msgport.h */
#endif

#define SLATE_MAXENTRIES 65536	/* entries a slate may hold (sl_cap): E2BIG beyond */
#define SLATE_MAXREGS	256	/* registers a slate may have, register 0 included */
#define SLATE_RUNNERS	8	/* pool workers one parallel run uses at most */

/* Slate flags (sl_flags). */
#define SLATE_PARALLEL	0x01u	/* spread independent entries over the worker pool */
#define SLATE_STOPFAIL	0x02u	/* any failed entry stops the rest */
#define SLATE_FLAGS	0x03u	/* the known ones: others are EINVAL */

/* Entry flags (se_flags). */
#define SLATE_STOP	0x01u	/* this entry failing stops the rest */
#define SLATE_EFLAGS	0x01u

/*
 * Guards (se_guard).  IFOK and IFFAIL name an earlier entry in se_ga: it
 * ran and its ms_error is 0 (IFOK) or not 0 (IFFAIL); an entry that did
 * not run satisfies neither.  The comparisons test register se_ga against
 * the literal se_gb, or against register se_gb when SLATE_GREG is or'ed
 * in (signed 64-bit comparisons).
 */
enum {
	SLATE_ALWAYS = 0,	/* no guard */
	SLATE_IFOK,		/* entry ga succeeded */
	SLATE_IFFAIL,		/* entry ga failed */
	SLATE_IFEQ,		/* r[ga] == gb */
	SLATE_IFNE,		/* r[ga] != gb */
	SLATE_IFLT,		/* r[ga] <  gb */
	SLATE_IFGE,		/* r[ga] >= gb */
	SLATE_NGUARDS
};
#define SLATE_GREG	0x80u	/* gb is a register, not a literal */

/* An entry's outcome after a run (se_status). */
enum {
	SLATE_NOTRUN = 0,	/* recorded, never run */
	SLATE_RAN,		/* ran: see its message's ms_error and ms_result */
	SLATE_AGAIN,		/* ran, not done yet: EAGAIN, or 0 from poll/waitpid(WNOHANG) */
	SLATE_SKIPPED,		/* its guard did not hold */
	SLATE_STOPPED,		/* an earlier failure stopped the run */
	SLATE_CANCELED		/* the slate was aborted first */
};

/*
 * An entry.  Filled by slate_add(); the public fields may be changed
 * between runs (slate_check() judges them again at every run).
 */
struct slate_entry {
	msg_t		*se_msg;	/* the call: a prep_*()'d message, the user's */
	uint32_t	se_size;	/* its size (checked against the command's) */
	uint8_t		se_out;		/* register taking ms_result; 0: none */
	uint8_t		se_flags;	/* SLATE_STOP */
	uint8_t		se_guard;	/* SLATE_ALWAYS, SLATE_IF* [| SLATE_GREG] */
	uint8_t		se_status;	/* read-only: SLATE_RAN, ... */
	uint8_t		se_inarg[2];	/* argument slots fed from registers */
	uint8_t		se_inreg[2];	/* ...from these; 0: none */
	uint32_t	se_ga;		/* guard: entry index, or register */
	int64_t		se_gb;		/* guard: literal, or register (SLATE_GREG) */

	/* private: a parallel run's state */
	uint32_t	se_done;	/* done word, futex */
	uint32_t	se_ndep;
	uint32_t	se_dep[6];	/* entries to wait for */
};

/* What slate_add() records along with a message; zeroed means nothing. */
struct slate_opts {
	uint8_t		out;		/* register taking ms_result; 0: none */
	uint8_t		flags;		/* SLATE_STOP */
	uint8_t		guard;		/* SLATE_IF* [| SLATE_GREG] */
	uint8_t		inarg[2];	/* argument slots... */
	uint8_t		inreg[2];	/* ...fed from these registers; 0: none */
	uint32_t	ga;		/* guard operands, as se_ga, se_gb */
	int64_t		gb;
};

/*
 * The slate message (KCMD_SLATE).  Set up by slate_init(); sl_flags may
 * be changed between runs.
 */
struct sys_slate {
	msg_t		hdr;
	struct slate_entry *sl_ent;	/* the entries, the user's array */
	uint32_t	sl_n;		/* recorded */
	uint32_t	sl_cap;		/* sl_ent's size */
	int64_t		*sl_regs;	/* the registers, the user's array */
	uint32_t	sl_nregs;	/* its size, register 0 included */
	uint32_t	sl_flags;	/* SLATE_PARALLEL, SLATE_STOPFAIL */
	int32_t		sl_stopped;	/* read-only: the entry that stopped the run, or -1 */
	uint32_t	sl_rounds;	/* read-only: runs slate_run_until() made */

	/* private: a run's state */
	uint32_t	sl_next;	/* parallel: next entry to claim */
	uint32_t	sl_active;	/* parallel: runners out in the pool (futex) */
	uint32_t	sl_stop;	/* stopped: the stopping entry + 1 */
	uint32_t	sl_nran;	/* entries that ran */
	uint32_t	sl_rerun;	/* slate_run_until: run only SLATE_AGAIN entries */
	uint32_t	sl_canceled;	/* parallel: an entry was canceled */
	uint64_t	sl_probed[2];	/* the memory a run last proved readable (slate.c) */
	msg_t		sl_runner[SLATE_RUNNERS];
};

/*
 * slate_init - make sl an empty, synchronous, in-order slate over the
 * user's arrays: ent (room for cap entries) and regs (nregs registers,
 * register 0 included; NULL and 0 for none).  EINVAL, or E2BIG when cap
 * or nregs exceeds SLATE_MAXENTRIES or SLATE_MAXREGS.
 */
int	slate_init(struct sys_slate *sl, struct slate_entry *ent, unsigned cap, int64_t *regs,
	    unsigned nregs);

/*
 * slate_add - record msg (msgsize bytes, filled by a prep_*() helper) as
 * the next entry, with opts (NULL: none).  Returns 0, or refuses it,
 * recording nothing: ENOSPC (full), EFAULT (NULL msg), ENOSYS (unknown
 * command), EINVAL (wrong size, a slate inside a slate, a persistent
 * message, a register out of range, an argument slot that is not an
 * integer argument, a guard naming this or a later entry, unknown flags),
 * EBUSY (msg is in flight).
 */
int	slate_add(struct sys_slate *sl, msg_t *msg, size_t msgsize, const struct slate_opts *opts);

/*
 * slate_record_exec - slate_add(), then execute the new entry at once in
 * the caller's thread, with its guard, inputs and output register, as a
 * run would: capture a code path as it runs.  Returns what slate_add()
 * refused, or the call's errno (0: it succeeded or was skipped; see
 * se_status).
 */
int	slate_record_exec(struct sys_slate *sl, msg_t *msg, size_t msgsize,
	    const struct slate_opts *opts);

/*
 * slate_check - judge a slate without running it: 0, or the error its
 * run would be refused with (EINVAL, ENOSYS, E2BIG, EFAULT, EBUSY).
 * Never crashes, whatever the fields hold: an entry or register array, or
 * an entry's message, at an address that faults is EFAULT.
 */
int	slate_check(const struct sys_slate *sl);

/*
 * slate_run_until - run a slate of "done yet?" calls (non-blocking reads,
 * poll with timeout 0, waitpid with WNOHANG...) until every entry is
 * done, or the deadline (CLOCK_MONOTONIC, absolute; NULL: none) passes
 * (ETIMEDOUT).  The first run runs every entry; later runs only those
 * that reported SLATE_AGAIN, after a short sleep that grows to 1 ms.
 * Returns 0 or the run's error; sl_rounds counts the runs.
 */
int	slate_run_until(struct sys_slate *sl, const struct timespec *deadline);

/*
 * Tape recording (slate_record_begin(3)): between slate_record_begin()
 * and slate_record_end() every system call the calling thread makes, in
 * any code (libc, other libraries, a raw syscall instruction), is
 * executed as called and, if its class is in `what`, appended to the
 * slate as a generic indirect message (struct sys_syscall).  A call that
 * returns a new descriptor stores it in a fresh register; later recorded
 * calls passing that descriptor are fed from the register.  Linux's
 * Syscall User Dispatch does the trapping (x86-64, Linux 5.11 and later;
 * elsewhere ENOSYS).  See slate(7) for what a replay does with pointers.
 */
#define SLATE_REC_FILE		0x0001u	/* files, directories, paths, pipes, polling */
#define SLATE_REC_SOCKET	0x0002u	/* sockets */
#define SLATE_REC_DEVICE	0x0004u	/* ioctl */
#define SLATE_REC_PROCESS	0x0008u	/* ids, kill, wait, limits, scheduling */
#define SLATE_REC_TIME		0x0010u	/* sleeps, clocks, timers */
#define SLATE_REC_MEMORY	0x0020u	/* mmap, munmap, brk, mprotect, madvise... */
#define SLATE_REC_SYNC		0x0040u	/* futex, robust lists, rseq */
#define SLATE_REC_SIGNAL	0x0080u	/* signal actions and masks, sigaltstack */
#define SLATE_REC_OTHER		0x0100u	/* every call the table does not know */
#define SLATE_REC_IO		0x0007u	/* FILE | SOCKET | DEVICE */
#define SLATE_REC_ALL		0x01ffu

/* Recording flags. */
#define SLATE_RECORD_COPY	0x01u	/* snapshot inputs, redirect outputs, into the arena */
#define SLATE_RECORD_FLAGS	0x01u

#define SLATE_COPYMAX		65536	/* SLATE_RECORD_COPY: a larger buffer stays live */

/*
 * What a recording writes into, all the user's: set the in fields (the
 * rest zero) before slate_record_begin(); the out fields are valid after
 * slate_record_end().  Nothing is allocated per recorded call.
 */
struct slate_tape {
	struct sys_syscall *st_msg;	/* in: one message per recorded call */
	uint32_t	st_nmsg;	/* in: st_msg's size */
	uint32_t	st_regbase;	/* in: first register for descriptors; 0: 1 */
	void		*st_arena;	/* in: SLATE_RECORD_COPY's copies */
	size_t		st_arenasize;	/* in */
	size_t		st_arenaused;	/* out */
	uint32_t	st_nrec;	/* out: calls recorded */
	uint32_t	st_nreg;	/* out: registers given to descriptors */
	uint64_t	st_missed;	/* out: calls run, not recorded for want of room */

	/* private: which descriptor each register stands for (-1: none) */
	uint32_t	st_what, st_flags;
	int32_t		st_error;
	int32_t		st_regfd[SLATE_MAXREGS];
};

/*
 * slate_record_begin - start recording the calling thread's system
 * calls of the classes in what into sl (which keeps the entries already
 * in it), with tp's messages and arena.  0, or EINVAL (bad arguments,
 * unknown class or flag bits), EBUSY (this thread is already recording),
 * ENOSYS (the kernel has no Syscall User Dispatch).
 * slate_record_end - stop.  0, ENOSPC (the entries, messages, registers
 * or arena ran out: the calls after that ran but were not recorded, see
 * st_missed), EINVAL (this thread is not recording sl).
 */
int	slate_record_begin(struct sys_slate *sl, struct slate_tape *tp, unsigned what,
	    unsigned flags);
int	slate_record_end(struct sys_slate *sl);

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* MSGPORT_SLATE_H */
