/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evloop-internal.h - the event loop (evloop.c), where messages on pollable
 * descriptors and sleeps wait, and its guard (evguard.c).
 */
#ifndef EVLOOP_INTERNAL_H
#define EVLOOP_INTERNAL_H

#include <stdbool.h>

#include "kport-internal.h"

#pragma GCC visibility push(hidden)

#define KFD_TIMER	(-2)	/* mp_evloop_arm()'s fd for a sleep */

/* evguard.c: libevent's callbacks, and a start that cannot end the process */
int	mp_kev_init(void);
int	mp_kev_start(struct mp_kstate *ks);

/*
 * evloop.c: the event loop.  mp_evloop_arm() puts kr at the tail of fd's
 * FIFO, or for fd KFD_TIMER starts its sleep (-1: cannot be done);
 * mp_evloop_disarm() takes a waiting kr out of it (its kr_leave); mp_evloop_busy() says whether messages wait on fd for events, so
 * a new one must queue behind them rather than try first; mp_evloop_cancelfd()
 * returns (ECANCELED) everything that waits on fd, for a close.  All but
 * mp_evloop_busy() and mp_evloop_cancelfd() are called with ks_lock held, and
 * none waits for the loop.
 */
int	mp_evloop_start(struct mp_kstate *ks);
void	mp_evloop_stop(struct mp_kstate *ks);
void	mp_evloop_forget(struct mp_kstate *ks);	/* a fork child's: see evloop.c */
int	mp_evloop_arm(struct kreq *kr, int fd, short events, bool chardev);
void	mp_evloop_disarm(struct kreq *kr);
bool	mp_evloop_busy(int fd, short events);
void	mp_evloop_cancelfd(int fd);

#pragma GCC visibility pop

#endif /* EVLOOP_INTERNAL_H */
