/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kreq-internal.h - where an asynchronous message that would block goes
 * (kreq.c): a slot, then the event loop or the pool; and how it is taken
 * back (abortsys(), shutdown).
 */
#ifndef KREQ_INTERNAL_H
#define KREQ_INTERNAL_H

#include <stdbool.h>

#include "kport-internal.h"

#pragma GCC visibility push(hidden)

/* mp_kreq_submit()'s how: what the descriptor says about the wait */
#define KQ_CHARDEV	0x1u	/* a character device: once ready, the pool makes the call */
#define KQ_FILE		0x2u	/* a file or block device: the kernel finishes the call */
#define KQ_SPREAD	0x4u	/* a call that would run inline, for a helper (pool.c) */
int	mp_kreq_submit(msg_t *msg, const struct kcmd *kc, int fd, short events, unsigned how,
	    bool held);
int	mp_kreq_drop(msg_t *msg);
void	mp_kreq_cancelall(struct mp_kstate *ks);

/* An asynchronous message its try found blocking, on its way (EASYNC, or
   why not); must it wait behind those already waiting on its descriptor? */
int	mp_kpass(msg_t *msg, const struct kcmd *kc, bool held);
bool	mp_kbehind(msg_t *msg, const struct kcmd *kc);
bool	mp_kstream(msg_t *msg, const struct kcmd *kc);

#pragma GCC visibility pop

#endif /* KREQ_INTERNAL_H */
