/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * plug-internal.h - plugged threads (plug.c) and the io_uring each one
 * tries its held messages in (ring.c).
 */
#ifndef PLUG_INTERNAL_H
#define PLUG_INTERNAL_H

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

#include "systab-internal.h"

#pragma GCC visibility push(hidden)

/*
 * ring.c: a thread's io_uring (see there).  A batch is at most KRING_MAX
 * requests; each one's result is a negative errno or what the call
 * returns, or KRING_UNSENT if the ring failed before the kernel took it.
 */
#define KRING_MAX	32
#define KRING_UNSENT	(-0x7fff)
struct kring {
	int		kg_index;	/* its registered index; -1: none */
	uint32_t	*kg_sqhead, *kg_sqtail, *kg_sqarray, kg_sqmask;
	uint32_t	*kg_cqhead, *kg_cqtail, kg_cqmask;
	struct io_uring_sqe *kg_sqes;
	struct io_uring_cqe *kg_cqes;
	void		*kg_ring;	/* the two queues' mapping */
	size_t		kg_ringlen, kg_sqeslen;
};
int	mp_kring_open(struct kring *r);
void	mp_kring_close(struct kring *r);
struct io_uring_sqe *mp_kring_sqe(struct kring *r, unsigned i);
int	mp_kring_run(struct kring *r, unsigned n, int *res);

/*
 * plug.c: plugsys().  While this thread is plugged (mp_kplug_depth > 0) its
 * asynchronous messages with a ring form are held by mp_kplug_hold()
 * (EASYNC) and tried together later.
 */
extern __thread uint32_t mp_kplug_depth __attribute__((tls_model("initial-exec")));
int	mp_kplug_hold(msg_t *msg, const struct kcmd *kc);

#pragma GCC visibility pop

#endif /* PLUG_INTERNAL_H */
