/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ksys-internal.h - the handlers' helpers for making a raw system call and
 * storing its outcome in the message (the sys_*.c files).
 */
#ifndef KSYS_INTERNAL_H
#define KSYS_INTERNAL_H

#include <errno.h>
#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

#include "msgport.h"

#pragma GCC visibility push(hidden)

/* Store a raw call's outcome (r < 0: failed with errno) in msg. */
static inline int
kret(msg_t *msg, long r)
{
	if (r < 0) {
		msg->ms_result = -1;
		return errno;
	}
	msg->ms_result = r;
	return 0;
}

/*
 * ksys
 *	A system call made right here rather than through libc's wrapper,
 *	for calls that never block: the synchronous path then touches no
 *	libc page and no errno after the kernel returns, and where every
 *	system call flushes the TLB (PTI without PCID) each page touched
 *	after it is a page walk (sync getpid: 1.07 -> 1.02 of the raw call,
 *	bench/README.md).  Returns what the kernel does: -errno on failure.
 *	Sanitizer builds take libc's wrapper, which the sanitizers watch.
 */
#if defined(__x86_64__) && defined(__LP64__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
static inline long
ksys(long nr, long a1, long a2, long a3)
{
	long r;

	__asm__ volatile ("syscall" : "=a"(r) : "0"(nr), "D"(a1), "S"(a2), "d"(a3)
	    : "rcx", "r11", "memory");
	return r;
}
#else
#include <unistd.h>
static inline long
ksys(long nr, long a1, long a2, long a3)
{
	long r;

	errno = 0;
	r = syscall(nr, a1, a2, a3);
	return r == -1 && errno != 0 ? -errno : r;
}
#endif

/* Store ksys()'s outcome in msg, as kret() does a libc call's: only
   -4095..-1 are errors (an lseek() offset can be "negative"). */
static inline int
kret_sys(msg_t *msg, long r)
{
	if ((unsigned long)r > -4096UL) {
		msg->ms_result = -1;
		return (int)-r;
	}
	msg->ms_result = r;
	return 0;
}

/* Treat "no non-blocking form for this descriptor" as "would block". */
static inline int
kwould(int e)
{
	return e == EOPNOTSUPP || e == EWOULDBLOCK ? EAGAIN : e;
}

/* A try's outcome, as kret() stores it: EAGAIN when it would block. */
static inline int
kret_try(msg_t *msg, long r)
{
	return kwould(kret(msg, r));
}

/*
 * ksqe_prep
 *	The common part of a kc_sqe form: a request of kind op on fd with
 *	the buffer addr, len.  EINVAL for a length a request cannot hold:
 *	the plain try then gets the call's own answer.
 */
static inline int
ksqe_prep(struct io_uring_sqe *sqe, uint8_t op, int fd, const void *addr, size_t len)
{
	if (len > UINT32_MAX)
		return EINVAL;
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->len = (uint32_t)len;
	return 0;
}

#pragma GCC visibility pop

#endif /* KSYS_INTERNAL_H */
