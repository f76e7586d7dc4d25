/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the edges all at once.  Eight threads queue reads on
 * shared pipes and stream sockets whose writers queue writes (so the
 * pipes fill and the writes wait too), abort messages at random while
 * they complete, close private descriptors with messages waiting on
 * them, and a sysport_stop() comes at a random moment, then a restart.
 * Every message sent comes back exactly once; on each descriptor the
 * values one thread reads rise in the order it sent its reads, the
 * values written rise in the order the writes were sent, and every
 * value written is read once or still in the descriptor at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "kputil.h"

#define NFD	4		/* shared descriptors: 2 pipes, 2 socketpairs */
#define NREADER	8
#define NWIN	24		/* messages a reader keeps in flight */
#define NWWIN	16		/* writes a writer keeps in flight */
#define ROUNDS	400		/* batches per reader */

struct chan {
	int	rfd, wfd;
	unsigned char *wrote;	/* wrote[v]: value v was written (the writer's) */
	unsigned char *got;	/* got[v]: times value v was read */
	uint32_t cap;
};

#define NSEQ	(ROUNDS * NWIN + NWIN)
#define NONE	UINT32_MAX

/* A reader's record: the value each of its reads got, by send order. */
struct rlog {
	uint32_t	seq[NFD];	/* reads sent on each channel */
	uint32_t	*val[NFD];	/* val[c][seq]: what it read, or NONE */
};

static struct chan ch[NFD];
static int stopping;		/* the readers are done (atomic) */
static uint32_t progress;	/* rounds the readers have done, together */
static pthread_mutex_t gotlock = PTHREAD_MUTEX_INITIALIZER;

union anymsg {
	msg_t		hdr;
	struct sys_read	rd;
	struct sys_write wr;
	struct sys_close cl;
};

struct rmsg {
	union anymsg	m;
	uint32_t	val;
	int		chan;	/* -1: a private pipe's read */
	uint32_t	seq;	/* send order on its channel, this thread */
	int		back;	/* times returned */
	bool		out;	/* in flight */
};

static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Send m; on a refusal while stopped, wait for the restart and try again. */
static bool
send_retry(struct rmsg *r, size_t size)
{
	int e;

	for (;;) {
		r->back = 0;
		e = sendsys(sysport(), &r->m.hdr, size);
		if (e == EASYNC) {
			r->out = true;
			return true;
		}
		if (e != EPIPE)
			return false;	/* done in place: counted by the caller */
		if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
			return false;
		usleep(1000);
	}
}

/* A returned message: once, and what it read. */
static void
account(struct rmsg *r, struct rlog *lg)
{
	assert_true(r->out);
	r->out = false;
	assert_int_equal(++r->back, 1);
	if (r->chan < 0 || r->m.hdr.ms_error != 0)
		return;
	assert_int_equal(r->m.hdr.ms_result, 4);
	lg->val[r->chan][r->seq] = r->val;
	pthread_mutex_lock(&gotlock);
	assert_true(r->val < ch[r->chan].cap);
	ch[r->chan].got[r->val]++;
	pthread_mutex_unlock(&gotlock);
}

/* A private pipe, reads queued on it, then a close message: all ECANCELED. */
static void
close_with_waiters(msgport_t *rp, struct rmsg *pv, int n)
{
	struct rmsg cl;
	int p[2], i, e;

	assert_int_equal(pipe(p), 0);
	for (i = 0; i < n; i++) {
		prep_read(&pv[i].m.rd, p[0], &pv[i].val, 4);
		prep_async(&pv[i].m.hdr, rp);
		pv[i].m.hdr.ms_cookie = &pv[i];
		pv[i].chan = -1;
		if (!send_retry(&pv[i], sizeof(pv[i].m.rd)))
			break;
	}
	prep_close(&cl.m.cl, p[0]);
	e = sendsys(sysport(), &cl.m.hdr, sizeof(cl.m.cl));
	if (e == EPIPE)
		close(p[0]);		/* stopped meanwhile: they came back already */
	close(p[1]);
}

static void *
reader(void *arg)
{
	static __thread struct rmsg msgs[NWIN], pv[4];
	uint32_t seed = (uint32_t)(uintptr_t)arg * 7919u + 1, prev, k;
	struct rlog lg = { { 0 }, { NULL } };
	msgport_t *rp = mkport_queue();
	struct timespec t = { 30, 0 };
	struct rmsg *r;
	msg_t *got;
	int round, i, inflight = 0, c;

	for (c = 0; c < NFD; c++) {
		assert_non_null(lg.val[c] = malloc(NSEQ * sizeof(uint32_t)));
		memset(lg.val[c], 0xff, NSEQ * sizeof(uint32_t));
	}
	for (round = 0; round < ROUNDS; round++) {
		/* fill the window: reads on shared channels */
		for (i = 0; i < NWIN; i++) {
			r = &msgs[i];
			if (r->out)
				continue;
			c = (int)(rnd(&seed) % NFD);
			prep_read(&r->m.rd, ch[c].rfd, &r->val, 4);
			prep_async(&r->m.hdr, rp);
			r->m.hdr.ms_cookie = r;
			r->chan = c;
			r->seq = lg.seq[c]++;
			if (send_retry(r, sizeof(r->m.rd))) {
				inflight++;
				continue;
			}
			r->out = true;		/* done in place */
			assert_int_equal(r->m.hdr.ms_error, 0);
			account(r, &lg);
		}
		/* abort a few at random */
		for (i = 0; i < 3; i++) {
			r = &msgs[rnd(&seed) % NWIN];
			if (r->out)
				(void)abortsys(&r->m.hdr);
		}
		if (round % 50 == 7)
			close_with_waiters(rp, pv, 4);
		__atomic_fetch_add(&progress, 1, __ATOMIC_RELAXED);
		/* take back what has come */
		while ((got = (inflight > NWIN / 2) ? (timedwaitsys(rp, NULL, &t) == 0 ?
		    getport(rp) : NULL) : getport(rp)) != NULL) {
			r = got->ms_cookie;
			if (r->chan >= 0)
				inflight--;
			else
				assert_true(got->ms_error == ECANCELED);
			account(r, &lg);
		}
	}
	/* the end: abort what is left and take it all */
	for (i = 0; i < NWIN; i++)
		if (msgs[i].out)
			(void)abortsys(&msgs[i].m.hdr);
	for (i = 0; i < (int)(sizeof(pv) / sizeof(pv[0])); i++)
		if (pv[i].out)
			(void)abortsys(&pv[i].m.hdr);
	while (inflight > 0 || pv[0].out || pv[1].out || pv[2].out || pv[3].out) {
		assert_int_equal(timedwaitsys(rp, NULL, &t), 0);
		while ((got = getport(rp)) != NULL) {
			r = got->ms_cookie;
			if (r->chan >= 0)
				inflight--;
			account(r, &lg);
		}
	}
	/* its reads on one channel saw rising values, in the order sent */
	for (c = 0; c < NFD; c++) {
		for (prev = 0, k = 0; k < lg.seq[c]; k++) {
			if (lg.val[c][k] == NONE)
				continue;
			assert_true(lg.val[c][k] + 1 > prev);
			prev = lg.val[c][k] + 1;
		}
		free(lg.val[c]);
	}
	assert_int_equal(rmport(rp), 0);
	return NULL;
}

/* The writes that came back to rp: each once; the ones that wrote, noted.  How many. */
static int
writes_back(msgport_t *rp, struct chan *k)
{
	struct rmsg *r;
	msg_t *got;
	int n = 0;

	while ((got = getport(rp)) != NULL) {
		r = got->ms_cookie;
		assert_int_equal(++r->back, 1);
		r->out = false;
		n++;
		if (got->ms_error == 0)
			k->wrote[r->val] = 1;
	}
	return n;
}

/* Queue writes of rising values on channel c; aborted ones leave gaps. */
static void *
writer(void *arg)
{
	static __thread struct rmsg w[NWWIN];
	struct chan *k = &ch[(intptr_t)arg];
	msgport_t *rp = mkport_queue();
	struct timespec t = { 30, 0 };
	const struct timespec tick = { 0, 100000000 };
	uint32_t seed = (uint32_t)(intptr_t)arg + 99, next = 0;
	struct rmsg *r;
	int i, inflight = 0;

	while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE) && next + NWWIN < k->cap) {
		for (i = 0; i < NWWIN; i++) {
			r = &w[i];
			if (r->out)
				continue;
			r->val = next++;
			prep_write(&r->m.wr, k->wfd, &r->val, 4);
			prep_async(&r->m.hdr, rp);
			r->m.hdr.ms_cookie = r;
			r->chan = -1;
			if (send_retry(r, sizeof(r->m.wr)))
				inflight++;
			else if (r->m.hdr.ms_error == 0)
				k->wrote[r->val] = 1;	/* done in place */
		}
		if (rnd(&seed) % 4 == 0)
			(void)abortsys(&w[rnd(&seed) % NWWIN].m.hdr);
		/* a short wait: the pipe may stay full once the readers are done */
		if (inflight > 0 && timedwaitsys(rp, NULL, &tick) != 0)
			continue;
		inflight -= writes_back(rp, k);
	}
	for (i = 0; i < NWWIN; i++)
		if (w[i].out)
			(void)abortsys(&w[i].m.hdr);
	while (inflight > 0) {
		assert_int_equal(timedwaitsys(rp, NULL, &t), 0);
		inflight -= writes_back(rp, k);
	}
	assert_int_equal(rmport(rp), 0);
	return NULL;
}

/* What is left in channel c's descriptor: values read once more each. */
static void
drain(struct chan *k)
{
	uint32_t v;

	assert_int_equal(fcntl(k->rfd, F_SETFL, O_NONBLOCK), 0);
	while (read(k->rfd, &v, 4) == 4) {
		assert_true(v < k->cap);
		k->got[v]++;
	}
}

static void
edges_stress(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = 4096 };
	pthread_t rt[NREADER], wt[NFD];
	uint32_t v, seed = (uint32_t)time(NULL);
	int i, fds[2];

	(void)s;
	(void)sysport_stop();
	assert_int_equal(sysport_start(&attr), 0);
	for (i = 0; i < NFD; i++) {
		if (i < 2)
			assert_int_equal(pipe(fds), 0);
		else
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
		ch[i].rfd = fds[0];
		ch[i].wfd = fds[1];
		ch[i].cap = 1u << 20;
		assert_non_null(ch[i].got = calloc(ch[i].cap, 1));
		assert_non_null(ch[i].wrote = calloc(ch[i].cap, 1));
	}
	for (i = 0; i < NFD; i++)
		assert_int_equal(pthread_create(&wt[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (i = 0; i < NREADER; i++)
		assert_int_equal(pthread_create(&rt[i], NULL, reader, (void *)(intptr_t)i), 0);
	/* a stop at a random moment of the run, then a restart */
	v = NREADER * ROUNDS / 8 + rnd(&seed) % (NREADER * ROUNDS / 2);
	while (__atomic_load_n(&progress, __ATOMIC_RELAXED) < v)
		usleep(100);
	assert_int_equal(sysport_stop(), 0);
	usleep(rnd(&seed) % 20000);
	assert_int_equal(sysport_start(&attr), 0);
	for (i = 0; i < NREADER; i++)
		assert_int_equal(pthread_join(rt[i], NULL), 0);
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NFD; i++)
		assert_int_equal(pthread_join(wt[i], NULL), 0);
	for (i = 0; i < NFD; i++) {
		drain(&ch[i]);
		/* every value written was read once (or is still there), no other */
		for (v = 0; v < ch[i].cap; v++)
			assert_int_equal(ch[i].got[v], ch[i].wrote[v]);
		close(ch[i].rfd);
		close(ch[i].wfd);
		free(ch[i].got);
		free(ch[i].wrote);
	}
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(sysport_start(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(edges_stress),
	};

	alarm(600);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
