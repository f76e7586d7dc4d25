/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-upcall - what an upcall and a critical section cost, against what
 * people would otherwise write.
 *
 *  upcall-vs-pthread_kill: a driver thread returns a message to an upcall
 *	port whose owner sleeps in pause(); the upcall takes the message and
 *	acknowledges; the driver waits for the acknowledgement.  Against the
 *	driver's pthread_kill() of a sleeping thread whose plain sigaction
 *	handler acknowledges.
 *  upcall-delivery-vs-pthread_kill: the delivery alone, from the reply
 *	(or the pthread_kill) to the first instruction of the upcall (or the
 *	handler), stamped with CLOCK_MONOTONIC on both sides, the receiver
 *	idle in pause() before each one; medians of per-run means.
 *  upcall-vs-eventfd: the same against an eventfd write that wakes a
 *	thread sleeping in poll(), which reads it and acknowledges.
 *  upcall-self-vs-pthread_kill, upcall-self-vs-eventfd: the same three
 *	deliveries on one thread (the owner replies to itself, signals
 *	itself, writes and polls its own eventfd): the cost of the path
 *	itself, without the scheduler's wake-up, which dominates (and
 *	blurs) the cross-thread figures on a small, busy machine.
 *  crit-pair-vs-call: crit_enter() + crit_exit() against one call of an
 *	empty function the compiler may not inline.
 *
 * "bench-upcall crit N" only runs N critical-section pairs, for counting
 * instructions:
 *	libtool --mode=execute valgrind --tool=callgrind bench/bench-upcall crit 1000000
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"
#include "msgport.h"

#define BENCH_SIG	(SIGRTMIN + 10)		/* the baseline's own signal */

static volatile uint64_t ack;			/* bumped by every receiving side */
static volatile int stop;
static volatile int stamping;			/* upcall-delivery: stamp t_in, ack at entry */
static volatile uint64_t t_in;

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spin a little, then yield: on a small machine the receiver needs the CPU. */
static void
wait_ack(uint64_t want)
{
	for (int spin = 0; ack < want; spin++) {
		if (spin < 2000)
			__asm__ __volatile__("pause");
		else
			sched_yield();
	}
}

/* msgport: an upcall port owned by a thread asleep in pause() */

struct upowner {
	pthread_t	thread;
	msgport_t	*rport;		/* the upcall port, made by the owner */
	msgport_t	*server;	/* the driver's queue port */
	msg_t		msg;
	volatile int	ready;
};

static void
ack_upcall(msgport_t *port, void *arg)
{
	(void)arg;
	if (stamping) {
		t_in = now_ns();
		ack++;
		getport(port);
		return;
	}
	if (getport(port) != NULL)
		ack++;
}

static void *
upowner_main(void *arg)
{
	struct upowner *o = arg;

	o->rport = mkport_upcall(ack_upcall, NULL);
	if (o->rport == NULL)
		abort();
	o->ready = 1;
	while (!stop)
		pause();
	return NULL;
}

static void
ours_upcall(void *arg, long iters)
{
	struct upowner *o = arg;
	uint64_t base = ack;
	msg_t *m;

	for (long i = 0; i < iters; i++) {
		initmsg(&o->msg, 1, MSGF_ASYNC, o->rport);
		if (sendsys(o->server, &o->msg, sizeof(o->msg)) != EASYNC ||
		    (m = getport(o->server)) == NULL)
			abort();
		replymsg(m, 0);
		wait_ack(base + (uint64_t)i + 1);
	}
}

/* baseline: pthread_kill to a thread asleep in pause() */

static void
ack_handler(int signo)
{
	(void)signo;
	if (stamping)
		t_in = now_ns();
	ack++;
}

/* Mean delivery latency over n deliveries, each to an idle receiver. */
static double
delivery(struct upowner *o, pthread_t *killer, int n)
{
	uint64_t base = ack, t0;
	double sum = 0;
	msg_t *m;

	for (int i = 0; i < n; i++) {
		usleep(20);			/* let the receiver fall asleep */
		if (o != NULL) {
			initmsg(&o->msg, 1, MSGF_ASYNC, o->rport);
			if (sendsys(o->server, &o->msg, sizeof(o->msg)) != EASYNC ||
			    (m = getport(o->server)) == NULL)
				abort();
			t0 = now_ns();
			replymsg(m, 0);
		} else {
			t0 = now_ns();
			pthread_kill(*killer, BENCH_SIG);
		}
		wait_ack(base + (uint64_t)i + 1);
		sum += (double)(t_in - t0);
		while (o != NULL && (msgflags(&o->msg) & MSGF_INFLIGHT))
			sched_yield();
	}
	return sum / n;
}

static void
compare_delivery(struct upowner *o, pthread_t *killer)
{
	double ours[101], base[101], om, bm;
	int runs = bench_runs(), n = (int)bench_iters(2000);

	stamping = 1;
	delivery(o, killer, n / 10 + 1);
	delivery(NULL, killer, n / 10 + 1);
	for (int r = 0; r < runs; r++) {
		ours[r] = delivery(o, killer, n);
		base[r] = delivery(NULL, killer, n);
	}
	stamping = 0;
	om = bench_median(ours, runs);
	bm = bench_median(base, runs);
	printf("%-34s %-28s %10.1f ns\n", "upcall-delivery-vs-pthread_kill", "reply -> upcall entered", om);
	printf("%-34s %-28s %10.1f ns\n", "", "pthread_kill -> handler", bm);
	printf("RATIO upcall-delivery-vs-pthread_kill %.3f\n", om / bm);
	fflush(stdout);
}

static void *
killowner_main(void *arg)
{
	(void)arg;
	while (!stop)
		pause();
	return NULL;
}

static void
base_kill(void *arg, long iters)
{
	pthread_t *t = arg;
	uint64_t base = ack;

	for (long i = 0; i < iters; i++) {
		pthread_kill(*t, BENCH_SIG);
		wait_ack(base + (uint64_t)i + 1);
	}
}

/* baseline: eventfd written, a thread in poll() wakes and reads it */

static int efd;

static void *
efdowner_main(void *arg)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t v;

	(void)arg;
	while (!stop) {
		if (poll(&pfd, 1, -1) == 1 && read(efd, &v, sizeof(v)) == sizeof(v))
			ack++;
	}
	return NULL;
}

static void
base_eventfd(void *arg, long iters)
{
	uint64_t base = ack, one = 1;

	(void)arg;
	for (long i = 0; i < iters; i++) {
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			abort();
		wait_ack(base + (uint64_t)i + 1);
	}
}

/* the same, all on one thread */

static void
ours_upcall_self(void *arg, long iters)
{
	struct upowner *o = arg;	/* rport made by this thread */
	uint64_t base = ack;
	msg_t *m;

	for (long i = 0; i < iters; i++) {
		initmsg(&o->msg, 1, MSGF_ASYNC, o->rport);
		if (sendsys(o->server, &o->msg, sizeof(o->msg)) != EASYNC ||
		    (m = getport(o->server)) == NULL)
			abort();
		replymsg(m, 0);
		if (ack != base + (uint64_t)i + 1)
			abort();
	}
}

static void
base_kill_self(void *arg, long iters)
{
	uint64_t base = ack;

	(void)arg;
	for (long i = 0; i < iters; i++) {
		pthread_kill(pthread_self(), BENCH_SIG);
		if (ack != base + (uint64_t)i + 1)
			abort();
	}
}

static void
base_eventfd_self(void *arg, long iters)
{
	int fd = *(int *)arg;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v = 1;

	for (long i = 0; i < iters; i++) {
		if (write(fd, &v, sizeof(v)) != sizeof(v) || poll(&pfd, 1, -1) != 1 ||
		    read(fd, &v, sizeof(v)) != sizeof(v))
			abort();
		ack++;
	}
}

/* critical sections against an empty call */

static void __attribute__((noinline))
empty_call(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static void
ours_crit(void *arg, long iters)
{
	(void)arg;
	for (long i = 0; i < iters; i++) {
		crit_enter();
		crit_exit();
	}
}

static void
base_call(void *arg, long iters)
{
	(void)arg;
	for (long i = 0; i < iters; i++)
		empty_call();
}

int
main(int argc, char **argv)
{
	struct upowner o, self;
	struct sigaction sa;
	pthread_t killer, efdt;
	int selfefd;

	if (argc == 3 && strcmp(argv[1], "crit") == 0) {
		ours_crit(NULL, atol(argv[2]));
		return 0;
	}

	memset(&o, 0, sizeof(o));
	if ((o.server = mkport_queue()) == NULL)
		abort();
	pthread_create(&o.thread, NULL, upowner_main, &o);
	while (!o.ready)
		sched_yield();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ack_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(BENCH_SIG, &sa, NULL);
	pthread_create(&killer, NULL, killowner_main, NULL);

	efd = eventfd(0, EFD_CLOEXEC);
	pthread_create(&efdt, NULL, efdowner_main, NULL);

	bench_compare("upcall-vs-pthread_kill", "reply -> upcall ran", ours_upcall, &o,
	    "pthread_kill -> handler ran", base_kill, &killer, 20000);
	compare_delivery(&o, &killer);
	bench_compare("upcall-vs-eventfd", "reply -> upcall ran", ours_upcall, &o,
	    "eventfd -> poll woke", base_eventfd, NULL, 20000);
	memset(&self, 0, sizeof(self));
	self.server = o.server;
	if ((self.rport = mkport_upcall(ack_upcall, NULL)) == NULL)
		abort();
	selfefd = eventfd(0, EFD_CLOEXEC);
	bench_compare("upcall-self-vs-pthread_kill", "reply -> upcall ran (1 thread)",
	    ours_upcall_self, &self, "pthread_kill -> handler ran", base_kill_self, NULL, 200000);
	bench_compare("upcall-self-vs-eventfd", "reply -> upcall ran (1 thread)",
	    ours_upcall_self, &self, "eventfd write+poll+read", base_eventfd_self, &selfefd, 200000);
	bench_compare("crit-pair-vs-call", "crit_enter+crit_exit", ours_crit, NULL,
	    "empty noinline call", base_call, NULL, 20000000);

	stop = 1;
	pthread_kill(killer, BENCH_SIG);
	pthread_kill(o.thread, BENCH_SIG);
	{
		uint64_t one = 1;

		if (write(efd, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	pthread_join(killer, NULL);
	pthread_join(o.thread, NULL);
	pthread_join(efdt, NULL);
	return 0;
}
