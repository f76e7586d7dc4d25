/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evloop.c - the kernel thread that waits for descriptors: one libevent
 * event_base, run by one thread.
 *
 * A message whose non-blocking try would block on a pollable descriptor
 * waits in that descriptor's FIFO, one for reads and one for writes.
 * Each descriptor waited on has one record (struct kfd) with one epoll
 * registration (below), for the directions whose FIFO is not empty,
 * as an epoll user or io_uring's poll arming would do: when the
 * descriptor is ready, the loop thread tries the messages from the head
 * of the FIFO on, returning each that finishes, until one would block
 * again.  So messages on one descriptor complete in the order they were
 * sent, and any number of them can wait.
 *
 * A character device without a non-blocking form (a terminal: its
 * RWF_NOWAIT try always says "would block") waits for readiness here
 * too, where it can be aborted; once ready, the head goes to the pool,
 * which makes the plain call, and the FIFO moves on when it is done.
 *
 * A sleep (a command with kc_sleep: nanosleep) takes a record of its own,
 * kept in a heap by deadline under the loop's one timer, so a sleeping
 * message holds no worker.
 *
 * The records (ks_nslots of them, as many as messages can wait) and the
 * sleeps' heap are allocated at start, so nothing is allocated per
 * message, and made ready only as they are first used, so a start costs
 * no more for them; a record is in the hash while messages wait on its
 * descriptor.  Everything here is done under ks_lock, by any thread.
 *
 * A descriptor's record is registered, one-shot, in the epoll instance
 * of a set (struct kset): the set of the thread that parked the message
 * that made the record.  Arming it is one epoll_ctl() by whoever parks
 * or drains, and wakes nobody (a libevent event added from another
 * thread wakes the loop to say so); once it fired it stays disarmed
 * until armed again, so no two threads ever run one record.  The loop
 * thread watches every set through ks_gate, an epoll instance holding
 * them, which its libevent base watches.  A thread about to sleep on a
 * queue port lends itself to the kernel instead (mp_lender,
 * libmsgport/queue.c): it takes its set out of the gate, so the loop
 * thread sleeps on, polls the set and its bell itself, runs the ready
 * records' heads and puts the set back.  So a server thread waiting for
 * its requests receives them on its own thread, as with an epoll_wait()
 * of its own, and the loop thread runs them only while it does not wait.
 * NOTE: a registration is keyed by descriptor number and record life
 * (kf_gen), and nothing here waits for a poller that has just taken an
 * event, so one may find its record freed, reused or disarmed meanwhile:
 * it is stale, and ignored (evloop_ready), never a lost or doubled
 * message.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "evloop-internal.h"
#include "futex-internal.h"
#include "kport-internal.h"
#include "pool-internal.h"

static_assert(KEV_READ == EV_READ && KEV_WRITE == EV_WRITE, "kc_fd events are libevent's");

struct kfd {
	int		kf_fd;
	short		kf_events;	/* what its set's registration is armed for; 0: none */
	bool		kf_running;	/* evloop_ready() is at work on it */
	struct timespec	kf_deadline;	/* a sleep's, kf_head[0]'s: CLOCK_MONOTONIC */
	uint64_t	kf_seq;		/* a sleep's place among equal deadlines */
	uint32_t	kf_slot;	/* a sleep's place in ks_sleeps; KF_AWAKE: none */
	uint32_t	kf_gen;		/* lives so far: a callback's record may end under it */
	struct kreq	*kf_head[2], *kf_tail[2];	/* KDIR_READ, KDIR_WRITE */
	struct kfd	*kf_hnext;	/* hash chain, or free list */
	struct kset	*kf_set;	/* where it is registered */
};

#define KF_AWAKE	UINT32_MAX	/* kf_slot: not in the heap */

#define KLEND_OK	1u	/* ke_lend: its thread may take the turn */
#define KLEND_TAKEN	2u	/* it has it */
#define KEV_BATCH	64	/* ready records taken per epoll_wait() */
#define KSETS		64	/* threads with a set of their own at once, + 1 */

/*
 * struct kset
 *	The records one thread parked messages on first: their epoll
 *	instance, and the bell that rings the thread while it lends.  Set 0
 *	is for threads that have none (none was free or could be made):
 *	nobody lends it.  The array and the bells are the process's for
 *	good: a producer may ring a set long after it read which, and the
 *	descriptor must still be that bell.  The epoll instances live from
 *	a start to its stop.  A set whose thread ended goes to the next
 *	thread that needs one, with whatever records are still in it.
 */
struct kset {
	int		ke_epfd;	/* -1: none this run */
	int		ke_bell;	/* -1: not made yet */
	uint32_t	ke_lend;	/* KLEND_*; atomic */
	uint32_t	ke_records;	/* live records in it (under ks_lock; atomic read) */
	uint32_t	ke_run;		/* the run its thread took it in */
	bool		ke_owned;	/* a thread has it (under ks_lock) */
};

/* The loop thread learns of a set from the gate, not from a lock. */
static inline int
kset_epfd(const struct kset *ke)
{
	return (int)mp_load_32((const uint32_t *)&ke->ke_epfd);
}

static struct kset evloop_sets[KSETS] = { [0 ... KSETS - 1] = { .ke_epfd = -1, .ke_bell = -1 } };
static uint32_t evloop_run;		/* starts (and fork children) so far */
static __thread struct kset *evloop_own __attribute__((tls_model("initial-exec")));
static __thread uint32_t evloop_ownrun __attribute__((tls_model("initial-exec")));
static pthread_key_t evloop_ownkey;	/* gives a thread's set back at its end */
static pthread_mutex_t evloop_keylock = PTHREAD_MUTEX_INITIALIZER;
static bool evloop_keyed;		/* made once; a failed try is tried again */

static const short kdir_ev[2] = { EV_READ, EV_WRITE };

static pthread_once_t evloop_once = PTHREAD_ONCE_INIT;
static int evloop_threads;

static void evloop_woke(evutil_socket_t fd, short what, void *arg);

static void kset_release(void *arg);

static void
evloop_init(void)
{
	evloop_threads = evthread_use_pthreads();
}

static int
evloop_key(void)
{
	int r = 0;

	pthread_mutex_lock(&evloop_keylock);
	if (!evloop_keyed && (r = pthread_key_create(&evloop_ownkey, kset_release)) == 0)
		evloop_keyed = true;
	pthread_mutex_unlock(&evloop_keylock);
	return r;
}

/*
 * kset_own
 *	This thread's set, taken now if it has none this run (ks_lock
 *	held): a free one, its epoll instance and bell made if need be, and
 *	put in the gate; set 0 if none can be had.
 */
static struct kset *
kset_own(struct mp_kstate *ks)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct kset *ke;
	uint32_t run = mp_load_32(&evloop_run);
	int i;

	if (evloop_own != NULL && evloop_ownrun == run)
		return evloop_own;
	evloop_own = &evloop_sets[0];
	evloop_ownrun = run;
	for (i = 1; i < KSETS; i++) {
		ke = &evloop_sets[i];
		if (ke->ke_owned && ke->ke_run == run)
			continue;
		if (ke->ke_epfd < 0) {
			int fd = epoll_create1(EPOLL_CLOEXEC);

			if (fd < 0)
				break;
			mp_store_32((uint32_t *)&ke->ke_epfd, (uint32_t)fd);
			ev.data.ptr = ke;
			if (epoll_ctl(ks->ks_gate, EPOLL_CTL_ADD, fd, &ev) != 0) {
				close(fd);
				mp_store_32((uint32_t *)&ke->ke_epfd, (uint32_t)-1);
				break;
			}
			ke->ke_records = 0;
			mp_store_rel_32(&ke->ke_lend, KLEND_OK);
		}
		if (ke->ke_bell < 0 && (ke->ke_bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			break;
		ke->ke_owned = true;
		ke->ke_run = run;
		evloop_own = ke;
		(void)pthread_setspecific(evloop_ownkey, ke);
		break;
	}
	return evloop_own;
}

/* A thread ends: its set is free for another (records and all). */
static void
kset_release(void *arg)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kset *ke = arg;

	klock(&ks->ks_lock);
	if (ke->ke_run == mp_load_32(&evloop_run))
		ke->ke_owned = false;
	kunlock(&ks->ks_lock);
}

static struct kfd **
kfd_bucket(struct mp_kstate *ks, int fd)
{
	return &ks->ks_fdhash[(uint32_t)fd & ks->ks_fdmask];
}

static struct kfd *
kfd_find(struct mp_kstate *ks, int fd)
{
	struct kfd *kf;

	for (kf = *kfd_bucket(ks, fd); kf != NULL && kf->kf_fd != fd; kf = kf->kf_hnext)
		continue;
	return kf;
}

/* A free record, off the free list or never used yet (ks_lock held):
   records are made ready as they are first needed, so a program that
   waits on nothing touches none of their pages.  NULL: none is free. */
static struct kfd *
kfd_take(struct mp_kstate *ks)
{
	struct kfd *kf;

	if ((kf = ks->ks_fdfree) != NULL) {
		ks->ks_fdfree = kf->kf_hnext;
		return kf;
	}
	if (ks->ks_fdfresh == ks->ks_nslots)
		return NULL;
	kf = &ks->ks_fds[ks->ks_fdfresh++];
	kf->kf_fd = -1;
	kf->kf_slot = KF_AWAKE;
	return kf;
}

/* fd's record, made if it has none (a slot waits, so one is free). */
static struct kfd *
kfd_get(struct mp_kstate *ks, int fd)
{
	struct kfd *kf = kfd_find(ks, fd), **b;

	if (kf != NULL || (kf = kfd_take(ks)) == NULL)
		return kf;
	kf->kf_gen++;
	kf->kf_fd = fd;
	kf->kf_events = 0;
	kf->kf_running = false;
	kf->kf_set = kset_own(ks);
	mp_store_32(&kf->kf_set->ke_records, kf->kf_set->ke_records + 1);
	b = kfd_bucket(ks, fd);
	kf->kf_hnext = *b;
	*b = kf;
	mp_store_32(&ks->ks_nfds, ks->ks_nfds + 1);
	return kf;
}

static void
kfd_put(struct mp_kstate *ks, struct kfd *kf)
{
	struct kfd **b;

	for (b = kfd_bucket(ks, kf->kf_fd); *b != kf; b = &(*b)->kf_hnext)
		continue;
	*b = kf->kf_hnext;
	mp_store_32(&kf->kf_set->ke_records, kf->kf_set->ke_records - 1);
	kf->kf_fd = -1;
	kf->kf_hnext = ks->ks_fdfree;
	ks->ks_fdfree = kf;
	mp_store_32(&ks->ks_nfds, ks->ks_nfds - 1);
}

static void	sleep_remove(struct mp_kstate *ks, struct kfd *kf);

/* A sleep's record back to the free list (ks_lock held). */
static void
kfd_unsleep(struct mp_kstate *ks, struct kfd *kf)
{
	if (kf->kf_slot != KF_AWAKE)
		sleep_remove(ks, kf);
	kf->kf_head[0] = NULL;
	kf->kf_hnext = ks->ks_fdfree;
	ks->ks_fdfree = kf;
}

/*
 * kfd_arm, kfd_disarm
 *	Arm kf's registration for want, one-shot, tagged with its life (a
 *	registration outlives its record: one that fired stays, disarmed,
 *	and the next record of the descriptor re-arms it, one syscall); take
 *	it out while armed.  A number reused by another file has no
 *	registration (the kernel's key is the file too): MOD says ENOENT,
 *	and it is added.  False: the descriptor cannot be polled or is
 *	closed (EPERM, EBADF), or no memory.
 */
static bool
kfd_arm(struct kfd *kf, short want)
{
	struct epoll_event ev;

	ev.events = EPOLLONESHOT | ((want & EV_READ) ? EPOLLIN : 0) |
	    ((want & EV_WRITE) ? EPOLLOUT : 0);
	ev.data.u64 = (uint32_t)kf->kf_fd | (uint64_t)kf->kf_gen << 32;
	if (epoll_ctl(kf->kf_set->ke_epfd, EPOLL_CTL_MOD, kf->kf_fd, &ev) == 0)
		return true;
	return errno == ENOENT && epoll_ctl(kf->kf_set->ke_epfd, EPOLL_CTL_ADD, kf->kf_fd, &ev) == 0;
}

static void
kfd_disarm(struct kfd *kf)
{
	if (kf->kf_events != 0)
		(void)epoll_ctl(kf->kf_set->ke_epfd, EPOLL_CTL_DEL, kf->kf_fd, NULL);
	kf->kf_events = 0;
}

/*
 * kfd_update
 *	Arm kf's registration for the directions whose head is waiting (a
 *	head the pool runs waits for nothing), and free kf once no message
 *	waits on it.  Returns false if it could not be armed.
 *	NOTE: it is disarmed before the last message is returned
 *	(the caller returns it after this), so the user may close the
 *	descriptor then and a new one of that number gets a new record.
 *	While evloop_ready() is at work on kf it arms it at its end.
 */
static bool
kfd_update(struct mp_kstate *ks, struct kfd *kf)
{
	short want = 0;
	int d;

	if (kf->kf_head[KDIR_READ] == NULL && kf->kf_head[KDIR_WRITE] == NULL) {
		kfd_disarm(kf);
		kfd_put(ks, kf);
		return true;
	}
	if (kf->kf_running)
		return true;
	for (d = 0; d < 2; d++)
		if (kf->kf_head[d] != NULL && kf->kf_head[d]->kr_state == KR_WAITING)
			want |= kdir_ev[d];
	if (want == kf->kf_events)
		return true;
	if (want == 0) {
		kfd_disarm(kf);
		return true;
	}
	if (!kfd_arm(kf, want))
		return false;
	kf->kf_events = want;
	return true;
}

static void
kfd_unlink(struct kfd *kf, struct kreq *kr)
{
	int d = kr->kr_dir;

	if (kr->kr_fprev != NULL)
		kr->kr_fprev->kr_fnext = kr->kr_fnext;
	else
		kf->kf_head[d] = kr->kr_fnext;
	if (kr->kr_fnext != NULL)
		kr->kr_fnext->kr_fprev = kr->kr_fprev;
	else
		kf->kf_tail[d] = kr->kr_fprev;
	kr->kr_fnext = kr->kr_fprev = NULL;
	kr->kr_kf = NULL;
	kr->kr_leave = NULL;
}

/*
 * kfd_topool
 *	kf's event could not be added (the descriptor was closed under its
 *	waiters, or the kernel is out of memory): each direction's waiting
 *	head goes to the pool, which makes the plain call, and stays the
 *	head until it is done, so the rest still go in order (ks_lock held).
 */
static void
kfd_topool(struct mp_kstate *ks, struct kfd *kf)
{
	struct kreq *kr;
	int d;

	for (d = 0; d < 2; d++)
		if ((kr = kf->kf_head[d]) != NULL && kr->kr_state == KR_WAITING)
			mp_pool_enqueue(kr);
	(void)kfd_update(ks, kf);	/* waits for no head the pool has */
}

/*
 * evloop_drain
 *	fd is ready for direction d: try kf's waiters from the head on
 *	until one would block again (ks_lock held; dropped around each try).
 *	Returns false once kf's life ended: its last message was returned.
 */
static bool
evloop_drain(struct mp_kstate *ks, struct kfd *kf, int d)
{
	uint32_t gen = kf->kf_gen;

	struct kreq *kr;
	msg_t *msg;
	int error;

	while ((kr = kf->kf_head[d]) != NULL && kr->kr_state == KR_WAITING) {
		msg = kr->kr_msg;
		if (kr->kr_chardev && !kaborted(msg)) {
			/* a stale wake-up must not send a terminal's read to block a worker */
			struct pollfd p = { kf->kf_fd, d == KDIR_READ ? POLLIN : POLLOUT, 0 };

			if (poll(&p, 1, 0) == 1)
				mp_pool_enqueue(kr);	/* the pool's now; the FIFO waits for it */
			return true;
		}
		kr->kr_state = KR_RUNNING;
		kunlock(&ks->ks_lock);
		MP_TRACE("run", msg, NULL, kr->kr_cmd->kc_name, mp_td.td_lent != NULL ? "lent" : "loop");
		error = kaborted(msg) ? kcancel(msg) : kr->kr_cmd->kc_try(msg);
		klock(&ks->ks_lock);
		if (error == EAGAIN) {
			if (!kaborted(msg) && !ks->ks_stopping) {
				kr->kr_state = KR_WAITING;
				return true;
			}
			error = kcancel(msg);
		}
		kunlock(&ks->ks_lock);
		mp_kreq_done(kr, error);
		klock(&ks->ks_lock);
		if (kf->kf_gen != gen || kf->kf_fd < 0)
			return false;
	}
	return true;
}

/*
 * evloop_ready
 *	A set says a record's descriptor is ready (key: its number and
 *	life): its heads' turn (see evloop_drain).  Its registration fired,
 *	so it is disarmed; one of a life that ended, or of a record that
 *	is not armed, is stale (see the NOTE above).
 */
static void
evloop_ready(struct mp_kstate *ks, uint64_t key, uint32_t events)
{
	struct kfd *kf;
	short what = 0;
	int d;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		what |= EV_READ;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		what |= EV_WRITE;
	klock(&ks->ks_lock);
	kf = ks->ks_fdhash != NULL ? kfd_find(ks, (int)(uint32_t)key) : NULL;
	if (kf == NULL || kf->kf_gen != (uint32_t)(key >> 32) || kf->kf_events == 0 ||
	    kf->kf_running) {
		kunlock(&ks->ks_lock);
		return;
	}
	what &= kf->kf_events;
	kf->kf_events = 0;
	kf->kf_running = true;
	for (d = 0; d < 2; d++)
		if ((what & kdir_ev[d]) && !evloop_drain(ks, kf, d)) {
			kunlock(&ks->ks_lock);	/* freed (or another's already) */
			return;
		}
	kf->kf_running = false;
	if (!kfd_update(ks, kf))
		kfd_topool(ks, kf);
	kunlock(&ks->ks_lock);
}

/*
 * evloop_harvest
 *	Run every record set ke has ready, without waiting: the loop
 *	thread's, through the gate, or the set's thread's while it lends.
 */
static void
evloop_harvest(struct mp_kstate *ks, struct kset *ke)
{
	struct epoll_event evs[KEV_BATCH];
	int i, n;

	do {
		n = epoll_wait(kset_epfd(ke), evs, KEV_BATCH, 0);
		for (i = 0; i < n; i++)
			evloop_ready(ks, evs[i].data.u64, evs[i].events);
	} while (n == KEV_BATCH);
}

/* The gate is ready: the sets in it with ready records. */
static void
evloop_gated(evutil_socket_t fd, short what, void *arg)
{
	struct epoll_event evs[KSETS];
	int i, n;

	(void)what;
	n = epoll_wait(fd, evs, KSETS, 0);
	for (i = 0; i < n; i++)
		evloop_harvest(arg, evs[i].data.ptr);
}

/*
 * evloop_take, evloop_give
 *	This thread's turn to run its own set (mp_lender): none without a
 *	set of its own with records in it.  Taking it takes the set out of
 *	the gate; giving it back puts it in again (a ready record in it then
 *	wakes the loop thread).
 */
static void *
evloop_take(void)
{
	struct kset *ke = evloop_own;
	uint32_t v = KLEND_OK;

	if (ke == NULL || ke == &evloop_sets[0] || evloop_ownrun != mp_load_32(&evloop_run) ||
	    mp_load_32(&ke->ke_records) == 0 || !mp_cas_32(&ke->ke_lend, &v, KLEND_OK | KLEND_TAKEN))
		return NULL;
	(void)epoll_ctl(mp_kstate.ks_gate, EPOLL_CTL_DEL, ke->ke_epfd, NULL);
	return ke;
}

static void
evloop_give(void *turn)
{
	struct kset *ke = turn;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ke };

	(void)epoll_ctl(mp_kstate.ks_gate, EPOLL_CTL_ADD, ke->ke_epfd, &ev);
	mp_faa_32(&ke->ke_lend, (uint32_t)-KLEND_TAKEN);
}

static void
evloop_ring(void *turn)
{
	struct kset *ke = turn;
	uint64_t one = 1;

	if (write(ke->ke_bell, &one, sizeof(one)) < 0)
		return;		/* EAGAIN: it is rung already */
}

/*
 * evloop_lend
 *	Wait, holding the turn, until the deadline, a ring or a ready
 *	record; run the ready ones; give the turn back.
 */
static int
evloop_lend(void *turn, const struct timespec *deadline)
{
	struct kset *ke = turn;
	struct pollfd p[2] = { { ke->ke_epfd, POLLIN, 0 }, { ke->ke_bell, POLLIN, 0 } };
	struct timespec rel;
	uint64_t rung;
	int n;

	n = ppoll(p, 2, deadline != NULL ? mp_remaining(deadline, &rel) : NULL, NULL);
	if (n > 0 && p[1].revents != 0)
		(void)!read(ke->ke_bell, &rung, sizeof(rung));
	if (n > 0 && p[0].revents != 0)
		evloop_harvest(&mp_kstate, ke);
	evloop_give(ke);
	return n == 0 ? ETIMEDOUT : 0;
}

static const struct mp_lender evloop_lender = {
	.ml_take = evloop_take,
	.ml_give = evloop_give,
	.ml_wait = evloop_lend,
	.ml_ring = evloop_ring,
};

/*
 * evloop_nolend
 *	No thread may take a turn from now on; wait for each that has one
 *	(rung out of its poll) to give it back.
 */
static void
evloop_nolend(void)
{
	struct kset *ke;
	uint32_t v;

	for (ke = evloop_sets; ke < evloop_sets + KSETS; ke++) {
		v = mp_load_32(&ke->ke_lend);
		while (!mp_cas_32(&ke->ke_lend, &v, v & ~KLEND_OK))
			continue;
		if (v & KLEND_TAKEN)
			evloop_ring(ke);
		while (mp_load_acq_32(&ke->ke_lend) & KLEND_TAKEN)
			sched_yield();
	}
}

#define KSLEEP_FOREVER	((time_t)INT64_MAX)

static int
ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

/*
 * Sleeps.  Each sleeping record is in ks_sleeps, a binary heap by
 * deadline (then by the order they began), and the loop has one timer,
 * ks_sleepev, set for the earliest.  One timer, not one per record:
 * libevent's own heap would grow (realloc()) with the sleeps, and a sleep
 * may be sent from an upcall, in a signal handler; ks_sleeps has room
 * for every slot from the start, and libevent's holds one timer.
 */

/* Does a's sleep end before b's? */
static bool
sleep_before(const struct kfd *a, const struct kfd *b)
{
	int c = ts_cmp(&a->kf_deadline, &b->kf_deadline);

	return c != 0 ? c < 0 : a->kf_seq < b->kf_seq;
}

/* Put kf at heap slot i (ks_lock held). */
static void
sleep_place(struct mp_kstate *ks, struct kfd *kf, uint32_t i)
{
	ks->ks_sleeps[i] = kf;
	kf->kf_slot = i;
}

/* Move kf, at slot i, up or down to where it belongs (ks_lock held). */
static void
sleep_sift(struct mp_kstate *ks, struct kfd *kf, uint32_t i)
{
	uint32_t c;

	while (i > 0 && sleep_before(kf, ks->ks_sleeps[(i - 1) / 2])) {
		sleep_place(ks, ks->ks_sleeps[(i - 1) / 2], i);
		i = (i - 1) / 2;
	}
	while ((c = 2 * i + 1) < ks->ks_nsleeps) {
		if (c + 1 < ks->ks_nsleeps && sleep_before(ks->ks_sleeps[c + 1], ks->ks_sleeps[c]))
			c++;
		if (!sleep_before(ks->ks_sleeps[c], kf))
			break;
		sleep_place(ks, ks->ks_sleeps[c], i);
		i = c;
	}
	sleep_place(ks, kf, i);
}

/* Take kf out of the heap (ks_lock held). */
static void
sleep_remove(struct mp_kstate *ks, struct kfd *kf)
{
	uint32_t i = kf->kf_slot;
	struct kfd *last = ks->ks_sleeps[--ks->ks_nsleeps];

	kf->kf_slot = KF_AWAKE;
	if (last != kf)
		sleep_sift(ks, last, i);
}

/* Set the loop's timer for the earliest sleep's deadline (ks_lock held). */
static int
sleep_arm(struct mp_kstate *ks)
{
	struct kfd *kf = ks->ks_sleeps[0];
	struct timespec now;
	struct timeval tv = { 0, 0 };

	if (kf->kf_deadline.tv_sec == KSLEEP_FOREVER)
		return 0;		/* only an abort ends it, and every later one */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ts_cmp(&now, &kf->kf_deadline) < 0) {
		tv.tv_sec = kf->kf_deadline.tv_sec - now.tv_sec;
		tv.tv_usec = (kf->kf_deadline.tv_nsec - now.tv_nsec) / 1000;
		if (tv.tv_usec < 0) {
			tv.tv_sec--;
			tv.tv_usec += 1000000;
		}
		tv.tv_usec++;		/* never early: the rest is rounded up */
	}
	return event_add(ks->ks_sleepev, &tv);
}

#define KSLEEP_BATCH	64	/* sleeps returned per hold of ks_lock, at most */

/*
 * evloop_woke
 *	The loop's timer: return every sleep that is due, and set the timer
 *	for the next.  One that was aborted meanwhile is no longer in the
 *	heap; if the loop's clock ran ahead of CLOCK_MONOTONIC, the earliest
 *	is not due yet, and the timer is set for the rest.
 */
static void
evloop_woke(evutil_socket_t fd, short what, void *arg)
{
	struct mp_kstate *ks = arg;
	struct kreq *due[KSLEEP_BATCH], *kr;
	struct timespec now;
	struct kfd *kf;
	uint32_t n, i;

	(void)fd, (void)what;
	do {
		n = 0;
		klock(&ks->ks_lock);
		clock_gettime(CLOCK_MONOTONIC, &now);
		while (n < KSLEEP_BATCH && ks->ks_nsleeps > 0 &&
		    ts_cmp(&now, &(kf = ks->ks_sleeps[0])->kf_deadline) >= 0) {
			sleep_remove(ks, kf);
			if ((kr = kf->kf_head[0]) == NULL || kr->kr_state != KR_WAITING)
				continue;	/* on its way out: not ours to return */
			kr->kr_state = KR_RUNNING;
			due[n++] = kr;
		}
		if (n < KSLEEP_BATCH && ks->ks_nsleeps > 0)
			(void)sleep_arm(ks);	/* no room needed: it is the heap's one */
		kunlock(&ks->ks_lock);
		for (i = 0; i < n; i++) {
			MP_TRACE("run", due[i]->kr_msg, NULL, due[i]->kr_cmd->kc_name, "loop");
			due[i]->kr_msg->ms_result = 0;
			mp_kreq_done(due[i], 0);
		}
	} while (n == KSLEEP_BATCH);
}

/* Start kr's sleep (ks_lock held).  0, or -1. */
static int
evloop_sleep(struct mp_kstate *ks, struct kreq *kr)
{
	struct timespec rel, deadline;
	struct kfd *kf;

	if (kr->kr_cmd->kc_sleep(kr->kr_msg, &rel, false) != 0)
		return -1;
	if (mp_deadline(&rel, &deadline) == NULL) {
		deadline.tv_sec = KSLEEP_FOREVER;	/* further than a century */
		deadline.tv_nsec = 0;
	}
	if ((kf = kfd_take(ks)) == NULL)
		return -1;
	kf->kf_deadline = deadline;
	kf->kf_gen++;
	kf->kf_head[0] = kr;
	kf->kf_seq = ks->ks_sleepseq++;
	kr->kr_kf = kf;
	kr->kr_leave = mp_evloop_disarm;
	kr->kr_dir = KDIR_TIMER;
	ks->ks_nsleeps++;
	sleep_sift(ks, kf, ks->ks_nsleeps - 1);
	if (kf->kf_slot != 0 || sleep_arm(ks) == 0)
		return 0;
	kfd_unsleep(ks, kf);
	kr->kr_kf = NULL;
	kr->kr_leave = NULL;
	return -1;
}

/*
 * mp_evloop_arm
 *	Put kr at the tail of fd's FIFO for events, or start its sleep (fd
 *	KFD_TIMER) (ks_lock held).  0, or -1 if that cannot be done: fd
 *	cannot be polled (the caller uses the pool).
 */
int
mp_evloop_arm(struct kreq *kr, int fd, short events, bool chardev)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kfd *kf;
	int d = (events & EV_WRITE) ? KDIR_WRITE : KDIR_READ;

	if (fd == KFD_TIMER)
		return evloop_sleep(ks, kr);
	if ((kf = kfd_get(ks, fd)) == NULL)
		return -1;
	kr->kr_kf = kf;
	kr->kr_leave = mp_evloop_disarm;
	kr->kr_dir = (uint8_t)d;
	kr->kr_chardev = chardev;
	kr->kr_fnext = NULL;
	kr->kr_fprev = kf->kf_tail[d];
	if (kf->kf_tail[d] != NULL)
		kf->kf_tail[d]->kr_fnext = kr;
	else
		kf->kf_head[d] = kr;
	kf->kf_tail[d] = kr;
	if (kfd_update(ks, kf))
		return 0;
	kfd_unlink(kf, kr);
	if (!kfd_update(ks, kf))
		kfd_topool(ks, kf);	/* the others cannot wait here either */
	return -1;
}

/*
 * mp_evloop_disarm
 *	Take kr out of its FIFO, if it is in one (ks_lock held): it was
 *	aborted, canceled, or done in the pool.  The next one may go.
 */
void
mp_evloop_disarm(struct kreq *kr)
{
	struct kfd *kf = kr->kr_kf;
	struct timespec left;

	if (kf == NULL)
		return;
	if (kr->kr_dir == KDIR_TIMER) {
		/* cut short (aborted, shut down): what was left of it, as nanosleep(2) */
		if (kr->kr_state != KR_RUNNING)
			(void)kr->kr_cmd->kc_sleep(kr->kr_msg, mp_remaining(&kf->kf_deadline, &left), true);
		kfd_unsleep(&mp_kstate, kf);
		kr->kr_kf = NULL;
		kr->kr_leave = NULL;
		return;
	}
	kfd_unlink(kf, kr);
	if (!kfd_update(&mp_kstate, kf))
		kfd_topool(&mp_kstate, kf);
}

/*
 * mp_evloop_busy
 *	Do messages wait on fd for events?  Then a new one goes behind them
 *	instead of trying first (first in, first out per descriptor).
 *	NOTE: one load when nothing waits anywhere.
 */
bool
mp_evloop_busy(int fd, short events)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kfd *kf;
	bool busy;

	if (mp_load_32(&ks->ks_nfds) == 0)
		return false;
	klock(&ks->ks_lock);
	kf = ks->ks_fdhash != NULL ? kfd_find(ks, fd) : NULL;
	busy = kf != NULL && kf->kf_head[(events & EV_WRITE) ? KDIR_WRITE : KDIR_READ] != NULL;
	kunlock(&ks->ks_lock);
	return busy;
}

/*
 * mp_evloop_cancelfd
 *	fd is about to be closed by a close message: return every message
 *	waiting on it with ECANCELED, and flag the one being run (it
 *	finishes with its own outcome, or ECANCELED if it would block).
 */
void
mp_evloop_cancelfd(int fd)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kreq *kr, *next, *list = NULL;
	struct kfd *kf;
	int d;

	if (mp_load_32(&ks->ks_nfds) == 0)
		return;
	klock(&ks->ks_lock);
	if (ks->ks_fdhash != NULL && (kf = kfd_find(ks, fd)) != NULL) {
		for (d = 0; d < 2; d++)
			for (kr = kf->kf_head[d]; kr != NULL; kr = next) {
				next = kr->kr_fnext;
				if (kr->kr_state != KR_WAITING) {
					mp_pool_abort(kr);	/* run by the loop or the pool */
					continue;
				}
				mp_msg_setflags(kr->kr_msg, MSGF_ABORTED, 0);
				kr->kr_state = KR_CANCELED;
				kfd_unlink(kf, kr);
				kr->kr_next = list;
				list = kr;
			}
		/* The close drops the file from epoll: a record that lives on
		   (its head runs) must register again, for the next file. */
		kfd_disarm(kf);
		if (!kfd_update(ks, kf))
			kfd_topool(ks, kf);
	}
	kunlock(&ks->ks_lock);
	/* oldest first */
	for (kr = list, list = NULL; kr != NULL; kr = next) {
		next = kr->kr_next;
		kr->kr_next = list;
		list = kr;
	}
	for (kr = list; kr != NULL; kr = next) {
		next = kr->kr_next;
		mp_kreq_done(kr, kcancel(kr->kr_msg));
	}
}

/* The stop event: runs in the loop, so it cannot come before the loop starts. */
static void
evloop_quit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

static void *
evloop_main(void *arg)
{
	struct mp_kstate *ks = arg;

	mp_name_thread("evloop", -1);
	event_base_loop(ks->ks_base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* The gate and every set's epoll instance closed (a fork child: ours of them). */
static void
kset_close(struct mp_kstate *ks)
{
	struct kset *ke;

	for (ke = evloop_sets; ke < evloop_sets + KSETS; ke++) {
		if (ke->ke_epfd >= 0)
			close(ke->ke_epfd);
		ke->ke_epfd = -1;
		ke->ke_owned = false;
		ke->ke_lend = 0;
		ke->ke_records = 0;
	}
	if (ks->ks_gate >= 0)
		close(ks->ks_gate);
	ks->ks_gate = -1;
}

static void
evloop_free(struct mp_kstate *ks)
{
	struct kfd **hash;

	if (ks->ks_sleepev != NULL)
		event_free(ks->ks_sleepev);
	ks->ks_sleepev = NULL;
	free(ks->ks_sleeps);
	ks->ks_sleeps = NULL;
	ks->ks_nsleeps = 0;
	if (ks->ks_gateev != NULL)
		event_free(ks->ks_gateev);
	ks->ks_gateev = NULL;
	/* a thread that ends gives its set back under ks_lock (kset_release) */
	klock(&ks->ks_lock);
	kset_close(ks);
	kunlock(&ks->ks_lock);
	/* a sender may look at the hash (mp_evloop_busy) until it is gone */
	klock(&ks->ks_lock);
	hash = ks->ks_fdhash;
	ks->ks_fdhash = NULL;
	mp_store_32(&ks->ks_nfds, 0);
	kunlock(&ks->ks_lock);
	free(hash);
	free(ks->ks_fds);
	ks->ks_fds = ks->ks_fdfree = NULL;
	if (ks->ks_stopev != NULL)
		event_free(ks->ks_stopev);
	ks->ks_stopev = NULL;
	if (ks->ks_base != NULL)
		event_base_free(ks->ks_base);
	ks->ks_base = NULL;
}

/* The records, the hash, and the sleeps' heap and timer, for ks_nslots
   waiters.  The timer is added once, so that libevent's heap has its
   room (one) before any upcall adds it. */
static int
evloop_records(struct mp_kstate *ks)
{
	struct timeval year = { 366 * 24 * 3600, 0 };
	uint32_t nb = 1;

	while (nb < ks->ks_nslots)
		nb <<= 1;
	ks->ks_fds = calloc(ks->ks_nslots, sizeof(*ks->ks_fds));
	ks->ks_sleeps = calloc(ks->ks_nslots, sizeof(*ks->ks_sleeps));
	ks->ks_fdhash = calloc(nb, sizeof(*ks->ks_fdhash));
	ks->ks_nsleeps = 0;
	if (ks->ks_fds == NULL || ks->ks_sleeps == NULL || ks->ks_fdhash == NULL)
		return ENOMEM;
	ks->ks_fdmask = nb - 1;
	ks->ks_fdfree = NULL;		/* every record is fresh: kfd_take() */
	ks->ks_fdfresh = 0;
	if ((ks->ks_sleepev = evtimer_new(ks->ks_base, evloop_woke, ks)) == NULL ||
	    event_add(ks->ks_sleepev, &year) != 0)
		return ENOMEM;
	event_del(ks->ks_sleepev);
	return 0;
}

/*
 * evloop_epoll
 *	A new run: the gate, set 0 in it, and the loop's event on the gate.
 *	0, or why not (EMFILE, ENFILE, ENOMEM).
 */
static int
evloop_epoll(struct mp_kstate *ks)
{
	struct kset *ke = &evloop_sets[0];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ke };

	mp_store_32(&evloop_run, evloop_run + 1);
	if ((ks->ks_gate = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (ke->ke_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ks->ks_gate, EPOLL_CTL_ADD, ke->ke_epfd, &ev) != 0)
		return errno;
	ks->ks_gateev = event_new(ks->ks_base, ks->ks_gate, EV_READ | EV_PERSIST, evloop_gated, ks);
	if (ks->ks_gateev == NULL || event_add(ks->ks_gateev, NULL) != 0)
		return ENOMEM;
	return 0;
}

/*
 * mp_evloop_start
 *	A base, the records, and the loop thread (every signal blocked);
 *	then waiting threads may lend themselves.
 */
int
mp_evloop_start(struct mp_kstate *ks)
{
	sigset_t all, old;
	int r;

	pthread_once(&evloop_once, evloop_init);
	if (evloop_threads != 0)
		return ENOTSUP;
	if ((r = evloop_key()) != 0)
		return r;
	ks->ks_gateev = NULL;
	errno = 0;
	if ((ks->ks_base = event_base_new()) == NULL)
		return errno != 0 ? errno : ENOMEM;	/* as the system said it */
	if ((ks->ks_stopev = event_new(ks->ks_base, -1, 0, evloop_quit, ks->ks_base)) == NULL) {
		r = ENOMEM;
		goto fail;
	}
	if ((r = evloop_epoll(ks)) != 0 || (r = evloop_records(ks)) != 0)
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&ks->ks_evthread, NULL, evloop_main, ks);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		mp_store_rel_ptr((void **)&mp_lender, (void *)&evloop_lender);
		return 0;
	}
fail:
	evloop_free(ks);
	return r;
}

/*
 * mp_evloop_forget
 *	In a fork child: the parent's epoll instances are not ours to
 *	change (closing our descriptors of them is), no set is anyone's,
 *	and each bell is replaced by one of our own under its number, so
 *	that a ring here never wakes a lender of the parent's, nor a read
 *	here takes its ring.
 */
void
mp_evloop_forget(struct mp_kstate *ks)
{
	struct kset *ke;
	int fd;

	kset_close(ks);
	ks->ks_gateev = NULL;
	mp_store_32(&evloop_run, evloop_run + 1);
	for (ke = evloop_sets; ke < evloop_sets + KSETS; ke++) {
		if (ke->ke_bell < 0)
			continue;
		if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
		    dup3(fd, ke->ke_bell, O_CLOEXEC) < 0) {
			close(ke->ke_bell);	/* a new one is made when needed */
			ke->ke_bell = -1;
		}
		if (fd >= 0)
			close(fd);
	}
}

/* Stop the loop thread and free the records and the base (nothing waits). */
void
mp_evloop_stop(struct mp_kstate *ks)
{
	evloop_nolend();
	event_active(ks->ks_stopev, EV_READ, 0);
	pthread_join(ks->ks_evthread, NULL);
	evloop_free(ks);
}
