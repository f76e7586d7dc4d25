/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ring.c - a thread's io_uring: many non-blocking tries in one system
 * call.
 *
 * A plugged thread (plug.c) holds its asynchronous messages back and
 * then tries them all at once.  On this kind of machine the system call
 * itself -- entry, exit, the page-table switch -- costs more than a
 * cached 4 KiB read, so trying thirty-two messages in one io_uring_enter()
 * instead of thirty-two preadv2()s is most of the way to io_uring's speed.
 *
 * Every request is made non-blocking (RWF_NOWAIT, MSG_DONTWAIT): the
 * kernel finishes it during the enter or fails it with EAGAIN, and never
 * parks it on its own workers.  A request that would block comes back
 * EAGAIN and goes on the usual way, to the event loop or the pool; the
 * ring never replaces them.
 *
 * The ring is the raw kernel interface (io_uring_setup(2),
 * io_uring_enter(2), two mappings): liburing stays a benchmark
 * baseline.  Only its own thread uses a ring, and each batch is reaped
 * whole before the next is written, so the submission queue is empty
 * whenever a batch starts and the ring needs no locking.
 *
 * The ring keeps no descriptor: it is registered with its thread
 * (IORING_REGISTER_RING_FDS) and entered by that index, and its
 * descriptor is closed at once.  A program that closes descriptors it
 * does not know (close_range(), a daemon's loop) cannot take the ring
 * away, and the library never closes a number that has become someone
 * else's.  The kernel lets the ring go when its thread exits and the
 * mappings are gone.
 */
#include "config.h"

#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kport-internal.h"
#include "plug-internal.h"

#define KRING_FEATURES	(IORING_FEAT_SINGLE_MMAP | IORING_FEAT_RW_CUR_POS | IORING_FEAT_NATIVE_WORKERS)

static int
ring_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int
ring_enter(int index, unsigned submit, unsigned complete, unsigned flags)
{
	return (int)syscall(__NR_io_uring_enter, index, submit, complete,
	    flags | IORING_ENTER_REGISTERED_RING, NULL, 0);
}

/* Register ring fd with this thread: its index, or -1. */
static int
ring_register(int fd)
{
	struct io_uring_rsrc_update up = { .offset = -1U, .data = (uint64_t)fd };

	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_RING_FDS, &up, 1) != 1)
		return -1;
	return (int)up.offset;
}

/*
 * mp_kring_open
 *	Set up a ring of KRING_MAX requests.  Returns 0, or the errno of a
 *	kernel without io_uring or one that forbids it (ENOSYS, EPERM under
 *	a seccomp filter or io_uring_disabled), or ENOMEM.
 */
int
mp_kring_open(struct kring *r)
{
	/* Older kernels refuse flags they do not know: then take the plain ring. */
	static const unsigned tries[] = { IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER, 0 };
	struct io_uring_params p;
	unsigned i;
	size_t sqlen, cqlen;
	char *sq, *cq;
	int fd = -1, e;

	r->kg_index = -1;
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		if ((fd = ring_setup(KRING_MAX, &p)) >= 0 || errno != EINVAL)
			break;
	}
	if (fd < 0)
		return errno;
	/* Before 5.12 some of what plug.c relies on was missing or young:
	   READ/WRITE/SEND/RECV and offset -1 (5.6), one mapping for both
	   queues (5.4), MSG_DONTWAIT honoured without arming poll; and a
	   ring registered with its thread takes 5.18.  Such a kernel gets no
	   ring: the held messages are tried one by one. */
	if ((p.features & KRING_FEATURES) != KRING_FEATURES || p.sq_entries < KRING_MAX) {
		close(fd);
		return ENOSYS;
	}

	sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->kg_ringlen = sqlen > cqlen ? sqlen : cqlen;
	r->kg_sqeslen = p.sq_entries * sizeof(struct io_uring_sqe);
	r->kg_ring = mmap(NULL, r->kg_ringlen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	r->kg_sqes = mmap(NULL, r->kg_sqeslen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (r->kg_ring == MAP_FAILED || r->kg_sqes == MAP_FAILED ||
	    (r->kg_index = ring_register(fd)) < 0) {
		e = r->kg_ring == MAP_FAILED || r->kg_sqes == MAP_FAILED ? ENOMEM : ENOSYS;
		if (r->kg_ring != MAP_FAILED)
			munmap(r->kg_ring, r->kg_ringlen);
		if (r->kg_sqes != MAP_FAILED)
			munmap(r->kg_sqes, r->kg_sqeslen);
		close(fd);
		r->kg_index = -1;
		return e;
	}
	close(fd);			/* the registration keeps it */
	sq = cq = r->kg_ring;
	r->kg_sqhead = (unsigned *)(sq + p.sq_off.head);
	r->kg_sqtail = (unsigned *)(sq + p.sq_off.tail);
	r->kg_sqmask = *(unsigned *)(sq + p.sq_off.ring_mask);
	r->kg_sqarray = (unsigned *)(sq + p.sq_off.array);
	r->kg_cqhead = (unsigned *)(cq + p.cq_off.head);
	r->kg_cqtail = (unsigned *)(cq + p.cq_off.tail);
	r->kg_cqmask = *(unsigned *)(cq + p.cq_off.ring_mask);
	r->kg_cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	/* the array maps queue positions to entries one to one, for good */
	for (i = 0; i <= r->kg_sqmask; i++)
		r->kg_sqarray[i] = i;
	return 0;
}

/*
 * mp_kring_close
 *	Give the ring back: its mappings.  The kernel frees it once its
 *	thread's registration goes too (at the thread's exit; a child of
 *	fork() never had it).
 */
void
mp_kring_close(struct kring *r)
{
	if (r->kg_index < 0)
		return;
	munmap(r->kg_ring, r->kg_ringlen);
	munmap(r->kg_sqes, r->kg_sqeslen);
	r->kg_index = -1;
}

/* The i-th request of the batch being written. */
struct io_uring_sqe *
mp_kring_sqe(struct kring *r, unsigned i)
{
	struct io_uring_sqe *sqe = &r->kg_sqes[(mp_load_32(r->kg_sqtail) + i) & r->kg_sqmask];

	memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = i;
	return sqe;
}

/* Take every completion there is: res into res[user_data]; how many. */
static unsigned
kring_reap(struct kring *r, int *res)
{
	uint32_t head = mp_load_32(r->kg_cqhead), tail = mp_load_acq_32(r->kg_cqtail);
	unsigned n = 0;

	for (; head != tail; head++, n++) {
		struct io_uring_cqe *cqe = &r->kg_cqes[head & r->kg_cqmask];

		res[cqe->user_data] = cqe->res;
	}
	mp_store_rel_32(r->kg_cqhead, head);
	return n;
}

/*
 * mp_kring_run
 *	Submit requests 0..n-1 (written with mp_kring_sqe()) and wait for all
 *	of them: res[i] is request i's result, as io_uring gives it (a
 *	negative errno on failure).  Returns 0.
 *	If the ring fails under it (an enter refused outright, or taking
 *	nothing), the requests the kernel never took get KRING_UNSENT, the
 *	ring is given back, and the result is EIO: the caller tries those
 *	the plain way.
 *	NOTE: every request is non-blocking, so each is finished when the
 *	enter that took it returns; the wait is for form's sake.
 */
int
mp_kring_run(struct kring *r, unsigned n, int *res)
{
	uint32_t tail = mp_load_32(r->kg_sqtail) + n, left;
	unsigned i, reaped = 0, idle = 0;
	int e = 0, got;

	for (i = 0; i < n; i++)
		res[i] = KRING_UNSENT;
	mp_store_rel_32(r->kg_sqtail, tail);
	for (;;) {
		left = tail - mp_load_acq_32(r->kg_sqhead);
		got = ring_enter(r->kg_index, left, n - reaped, IORING_ENTER_GETEVENTS);
		if (got < 0 && (e = errno) != EINTR && e != EAGAIN && e != EBUSY)
			break;
		i = kring_reap(r, res);
		if ((reaped += i) == n)
			return 0;
		/* an enter that neither took nor finished anything, again and again */
		if (i == 0 && left == tail - mp_load_acq_32(r->kg_sqhead) && ++idle == 1000)
			break;
	}
	/* What it took is done (non-blocking), what it did not take stays
	   KRING_UNSENT.  Collect the one, drop the other. */
	left = tail - mp_load_acq_32(r->kg_sqhead);
	while ((reaped += kring_reap(r, res)) < n - left)
		sched_yield();
	mp_kring_close(r);
	return EIO;
}
