/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool-internal.h - the worker pool (pool.c): the calls that can only
 * block, run by a bounded set of threads that an abort can interrupt.
 */
#ifndef POOL_INTERNAL_H
#define POOL_INTERNAL_H

#include <stdbool.h>
#include <sys/syscall.h>

#include "kport-internal.h"

#pragma GCC visibility push(hidden)

/* A worker's thread (slate.c: a slate's entry restarts only there). */
extern __thread bool mp_kpool_worker __attribute__((tls_model("initial-exec")));

/*
 * krestarts
 *	May a call that said EINTR without an abort be made again on a
 *	worker (the interrupt was meant for an earlier message)?  Not a
 *	generic close() (on Linux the descriptor is gone by then), nor a
 *	plain connect() (it goes on in the kernel: mp_kintr_connect()).
 */
static inline bool
krestarts(const msg_t *msg)
{
	if (msg->ms_cmd == KCMD_CONNECT)
		return false;
	return msg->ms_cmd != KCMD_SYSCALL || ((const struct sys_syscall *)msg)->nr != SYS_close;
}

#define POOL_BATCH	16	/* messages a worker takes at once, at most */
int	mp_pool_start(struct mp_kstate *ks);
void	mp_pool_stop(struct mp_kstate *ks);
bool	mp_pool_spreadable(void);

/*
 * The queue and the interrupter, all with ks_lock held: mp_pool_enqueue()
 * queues kr for a worker, mp_pool_unlink() takes it back;
 * mp_pool_interrupt() cuts short the call a worker runs for aborted kr,
 * mp_pool_interrupt_runners() those of a parallel slate's runners;
 * mp_pool_abort() aborts kr (its descriptor is being closed) and
 * interrupts its call if a worker runs it.
 */
void	mp_pool_enqueue(struct kreq *kr);
void	mp_pool_unlink(struct mp_kstate *ks, struct kreq *kr);
void	mp_pool_interrupt(struct mp_kstate *ks, struct kreq *kr);
struct sys_slate;
void	mp_pool_interrupt_runners(struct mp_kstate *ks, struct sys_slate *sl);
void	mp_pool_abort(struct kreq *kr);

#pragma GCC visibility pop

#endif /* POOL_INTERNAL_H */
