/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-reply - what a message exchange costs, against the queues people
 * would otherwise write.
 *
 *  one-thread: request + reply through two queue ports on one thread
 *	(send, take, reply, take) against the same through two
 *	mutex-protected lists.
 *  cross-thread: a round trip to a server thread (send, the server takes
 *	and replies, the owner's waitsys) against a mutex/condvar queue
 *	pair and an eventfd pair doing the same ping-pong.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"
#include "msgport.h"

/* A mutex/condvar queue: the baseline everyone writes. */
struct mcq {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	void		*items[64];
	int		head, n;
};

static void
mcq_init(struct mcq *q)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = q->n = 0;
}

static void
mcq_put(struct mcq *q, void *item)
{
	pthread_mutex_lock(&q->lock);
	q->items[(q->head + q->n++) % 64] = item;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void *
mcq_get(struct mcq *q)
{
	void *item;

	pthread_mutex_lock(&q->lock);
	while (q->n == 0)
		pthread_cond_wait(&q->cond, &q->lock);
	item = q->items[q->head];
	q->head = (q->head + 1) % 64;
	q->n--;
	pthread_mutex_unlock(&q->lock);
	return item;
}

/* one thread */

struct onethread {
	msgport_t	*server, *rport;
	msg_t		msg;
	struct mcq	req, rep;
};

static void
ours_onethread(void *arg, long iters)
{
	struct onethread *o = arg;
	msg_t *m;

	for (long i = 0; i < iters; i++) {
		sendsys(o->server, &o->msg, sizeof(o->msg));
		m = getport(o->server);
		replymsg(m, 0);
		if (getport(o->rport) != &o->msg)
			abort();
	}
}

static void
base_onethread(void *arg, long iters)
{
	struct onethread *o = arg;

	for (long i = 0; i < iters; i++) {
		mcq_put(&o->req, &o->msg);
		mcq_put(&o->rep, mcq_get(&o->req));
		if (mcq_get(&o->rep) != &o->msg)
			abort();
	}
}

/* cross thread */

struct pingpong {
	msgport_t	*server, *rport;
	msg_t		msg;
	struct mcq	req, rep;
	int		efd_req, efd_rep;
	pthread_t	t_ours, t_mcq, t_efd;
};

static void *
ours_server(void *arg)
{
	struct pingpong *p = arg;
	msg_t *m;

	while (waitsys(p->server, NULL) == 0)
		while ((m = getport(p->server)) != NULL)
			replymsg(m, 0);
	return NULL;
}

static void *
mcq_server(void *arg)
{
	struct pingpong *p = arg;
	void *item;

	while ((item = mcq_get(&p->req)) != NULL)
		mcq_put(&p->rep, item);
	return NULL;
}

static void *
efd_server(void *arg)
{
	struct pingpong *p = arg;
	uint64_t v;

	while (read(p->efd_req, &v, sizeof(v)) == sizeof(v) && v < 1000000000)
		if (write(p->efd_rep, &v, sizeof(v)) != sizeof(v))
			abort();
	return NULL;
}

static void
ours_pingpong(void *arg, long iters)
{
	struct pingpong *p = arg;

	for (long i = 0; i < iters; i++) {
		if (sendsys(p->server, &p->msg, sizeof(p->msg)) != EASYNC ||
		    waitsys(p->rport, &p->msg) != 0)
			abort();
	}
}

static void
mcq_pingpong(void *arg, long iters)
{
	struct pingpong *p = arg;

	for (long i = 0; i < iters; i++) {
		mcq_put(&p->req, &p->msg);
		if (mcq_get(&p->rep) != &p->msg)
			abort();
	}
}

static void
efd_pingpong(void *arg, long iters)
{
	struct pingpong *p = arg;
	uint64_t v = 1;

	for (long i = 0; i < iters; i++) {
		if (write(p->efd_req, &v, sizeof(v)) != sizeof(v) ||
		    read(p->efd_rep, &v, sizeof(v)) != sizeof(v))
			abort();
	}
}

int
main(void)
{
	static struct onethread o;
	static struct pingpong p;
	uint64_t stop = 1000000000;

	printf("bench-reply: medians of %d runs, msgport against its baselines\n", bench_runs());

	/* Servers first: glibc makes mutexes non-atomic while a process has
	   one thread, which would flatter the baseline. */
	p.server = mkport_queue();
	p.rport = mkport_queue();
	initmsg(&p.msg, 1, MSGF_ASYNC, p.rport);
	mcq_init(&p.req);
	mcq_init(&p.rep);
	p.efd_req = eventfd(0, EFD_CLOEXEC);
	p.efd_rep = eventfd(0, EFD_CLOEXEC);
	pthread_create(&p.t_ours, NULL, ours_server, &p);
	pthread_create(&p.t_mcq, NULL, mcq_server, &p);
	pthread_create(&p.t_efd, NULL, efd_server, &p);

	o.server = mkport_queue();
	o.rport = mkport_queue();
	initmsg(&o.msg, 1, MSGF_ASYNC, o.rport);
	mcq_init(&o.req);
	mcq_init(&o.rep);
	bench_compare("reply_same_thread", "msgport send+reply", ours_onethread, &o,
	    "mutex queue pair", base_onethread, &o, 1000000);

	bench_compare("handoff_cross_thread_vs_condvar", "msgport round trip", ours_pingpong, &p,
	    "mutex/condvar round trip", mcq_pingpong, &p, 100000);
	bench_compare("handoff_cross_thread_vs_eventfd", "msgport round trip", ours_pingpong, &p,
	    "eventfd round trip", efd_pingpong, &p, 100000);

	closeport(p.server);
	mcq_put(&p.req, NULL);
	if (write(p.efd_req, &stop, sizeof(stop)) != sizeof(stop))
		abort();
	pthread_join(p.t_ours, NULL);
	pthread_join(p.t_mcq, NULL);
	pthread_join(p.t_efd, NULL);
	return 0;
}
