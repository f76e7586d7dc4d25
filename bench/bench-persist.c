/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-persist - signals and periodic timers as messages, against what
 * people would otherwise write.
 *
 *  signal-vs-signalfd: the main thread sends itself (the process) a
 *	real-time signal and spins until a receiver thread has the message
 *	in hand (taken with waitsys, handed back with rearmsys).  Against a
 *	receiver thread reading a signalfd in a loop (the signal blocked in
 *	every thread).
 *  signal-vs-sigaction: the same against a plain sigaction handler that
 *	runs in a receiver thread asleep in sigsuspend (the sender blocks
 *	the signal, so the kernel hands it to the receiver).
 *  timer-median, timer-p99, timer-drift: a 100 us CLOCK_MONOTONIC
 *	periodic timer for 10,000 periods, taken in a loop, against a
 *	timerfd read in a loop, both armed on the same absolute schedule.
 *	Each tick's lateness is when it was taken minus its due time
 *	(start + k * period, k the last expiry reported): the median and
 *	99th percentile of a run, and drift, the last expiry's lateness.
 *  timer-oneshot: the median lateness of 300 one-shots due 1 ms after
 *	each is armed, against a timerfd armed the same way.
 *
 * Each baseline runs in a process of its own, serving the runs the
 * harness asks of it over a pipe: a thread asleep in a signalfd read is
 * woken by every signal its process gets (the kernel does not filter the
 * wakeup by the fd's mask), and one in sigsuspend takes any signal it does
 * not block, so in one process they would take our signals and our CPU.
 * Our signal goes to whichever of our threads the kernel picks: none
 * blocks it, as in an application whose threads take it.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "msgport.h"
#include "msgport-sys.h"

#define OUR_SIG		(SIGRTMIN + 2)
#define ACT_SIG		(SIGRTMIN + 3)
#define FD_SIG		(SIGRTMIN + 4)

static uint64_t ack;		/* bumped by every receiving side */
static int stop;
static pid_t self;

/* Spin a little, then yield: on a small machine a spinning sender would
   starve the very threads that deliver (ours has one more than signalfd). */
static void
wait_ack(uint64_t want)
{
	int spin = 0;

	while (__atomic_load_n(&ack, __ATOMIC_ACQUIRE) < want) {
		if (++spin < 200)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static void
bump(uint64_t n)
{
	__atomic_fetch_add(&ack, n, __ATOMIC_RELEASE);
}

/* ours: a receiver thread taking the signal message */

static msgport_t *our_port;
static struct sys_signal our_msg;

static void *
our_receiver(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (waitsys(our_port, &our_msg.hdr) != 0)
			continue;
		if (!(msgflags(&our_msg.hdr) & MSGF_INFLIGHT))
			break;			/* the final return */
		uint64_t n = our_msg.hdr.ms_count;

		rearmsys(&our_msg.hdr);
		bump(n);
	}
	return NULL;
}

static void
ours_signal(void *arg, long iters)
{
	uint64_t base = __atomic_load_n(&ack, __ATOMIC_ACQUIRE);
	long i;

	(void)arg;
	for (i = 1; i <= iters; i++) {
		kill(self, OUR_SIG);
		wait_ack(base + (uint64_t)i);
	}
}

/* signalfd */

static int sfd;

static void *
fd_receiver(void *arg)
{
	struct signalfd_siginfo si[16];
	ssize_t r;

	(void)arg;
	for (;;) {
		r = read(sfd, si, sizeof(si));
		if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			break;
		if (r > 0)
			bump((uint64_t)r / sizeof(si[0]));
	}
	return NULL;
}

static void
base_signalfd(void *arg, long iters)
{
	uint64_t base = __atomic_load_n(&ack, __ATOMIC_ACQUIRE);
	long i;

	(void)arg;
	for (i = 1; i <= iters; i++) {
		kill(self, FD_SIG);
		wait_ack(base + (uint64_t)i);
	}
}

/* sigaction, in a receiver asleep in sigsuspend */

static void
act_handler(int sig)
{
	(void)sig;
	bump(1);
}

static void *
act_receiver(void *arg)
{
	sigset_t wait;

	(void)arg;
	pthread_sigmask(SIG_SETMASK, NULL, &wait);
	sigdelset(&wait, ACT_SIG);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		sigsuspend(&wait);
	return NULL;
}

static void
base_sigaction(void *arg, long iters)
{
	uint64_t base = __atomic_load_n(&ack, __ATOMIC_ACQUIRE);
	long i;

	(void)arg;
	for (i = 1; i <= iters; i++) {
		kill(self, ACT_SIG);
		wait_ack(base + (uint64_t)i);
	}
}

/* a baseline in a process of its own */

struct server {
	pid_t	pid;
	int	req;		/* iterations asked for */
	int	done;		/* a byte once they ran */
};

static void
serve(struct server *sv, void (*setup)(void), bench_fn loop)
{
	int req[2], done[2];
	long n;

	if (pipe(req) != 0 || pipe(done) != 0 || (sv->pid = fork()) < 0)
		abort();
	if (sv->pid == 0) {
		close(req[1]);
		close(done[0]);
		self = getpid();
		setup();
		while (read(req[0], &n, sizeof(n)) == sizeof(n))
			if (loop(NULL, n), write(done[1], "", 1) != 1)
				break;
		_exit(0);
	}
	close(req[0]);
	close(done[1]);
	sv->req = req[1];
	sv->done = done[0];
}

static void
remote(void *arg, long iters)
{
	struct server *sv = arg;
	char c;

	if (write(sv->req, &iters, sizeof(iters)) != sizeof(iters) ||
	    read(sv->done, &c, 1) != 1)
		abort();
}

static void
unserve(struct server *sv)
{
	close(sv->req);
	close(sv->done);
	waitpid(sv->pid, NULL, 0);
}

static void
setup_signalfd(void)
{
	pthread_t t;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, FD_SIG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);		/* inherited by the reader */
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
	    pthread_create(&t, NULL, fd_receiver, NULL) != 0)
		abort();
}

static void
setup_sigaction(void)
{
	struct sigaction sa;
	pthread_t t;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, ACT_SIG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);		/* the receiver unblocks it in sigsuspend */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = act_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(ACT_SIG, &sa, NULL) != 0 ||
	    pthread_create(&t, NULL, act_receiver, NULL) != 0)
		abort();
}

/* timers */

#define PERIOD_NS	100000L
#define PERIODS		10000
#define ONESHOTS	300
#define ONESHOT_NS	1000000L	/* each one-shot is due 1 ms after it is armed */

struct tickrun {
	double	median;		/* lateness of the ticks taken, ns */
	double	p99;
	double	last;		/* the last expiry: taken minus due */
};

static double lateness[PERIODS + ONESHOTS + 1];

static double
ts_ns(const struct timespec *t)
{
	return (double)t->tv_sec * 1e9 + (double)t->tv_nsec;
}

static struct timespec
ns_ts(double ns)
{
	struct timespec t = { (time_t)(ns / 1e9), 0 };

	t.tv_nsec = (long)(ns - (double)t.tv_sec * 1e9);
	return t;
}

static double
now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_ns(&now);
}

/* Median, 99th percentile and last of lateness[0..n), in order of taking. */
static struct tickrun
summarize(int n)
{
	struct tickrun r;

	r.last = lateness[n - 1];
	qsort(lateness, (size_t)n, sizeof(double), bench_cmp);
	r.median = n % 2 ? lateness[n / 2] : (lateness[n / 2 - 1] + lateness[n / 2]) / 2;
	r.p99 = lateness[(n * 99) / 100];
	return r;
}

/*
 * Both timers are armed on an absolute schedule, first expiry at start +
 * period, so expiry k is due at start + k * period exactly; a tick
 * reporting expiries up to k, taken at t, is t - due(k) late.
 */
static struct tickrun
ours_timer(void)
{
	struct timespec p = { 0, PERIOD_NS }, first;
	msgport_t *q = mkport_queue();
	struct sys_timer m;
	double start = now_ns();
	uint64_t k = 0;
	int n = 0;

	first = ns_ts(start + PERIOD_NS);
	prep_timer(&m, CLOCK_MONOTONIC, TIMER_ABSTIME, &first, &p, q);
	if (sendsys(sysport(), &m.hdr, sizeof(m)) != EASYNC)
		abort();
	while (k < PERIODS) {
		if (waitsys(q, &m.hdr) != 0)
			abort();
		k += m.hdr.ms_count;
		lateness[n++] = now_ns() - (start + (double)k * PERIOD_NS);
		rearmsys(&m.hdr);
	}
	abortsys(&m.hdr);
	while (waitsys(q, &m.hdr) == 0 && (msgflags(&m.hdr) & MSGF_INFLIGHT))
		rearmsys(&m.hdr);
	rmport(q);
	return summarize(n);
}

static struct tickrun
base_timerfd(void)
{
	double start = now_ns();
	struct itimerspec its = { { 0, PERIOD_NS }, ns_ts(start + PERIOD_NS) };
	uint64_t k = 0, x;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), n = 0;

	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	while (k < PERIODS) {
		if (read(fd, &x, sizeof(x)) != sizeof(x))
			abort();
		k += x;
		lateness[n++] = now_ns() - (start + (double)k * PERIOD_NS);
	}
	close(fd);
	return summarize(n);
}

/* One-shots, each armed for 1 ms from now (absolute), taken, then the next. */
static struct tickrun
ours_oneshot(void)
{
	msgport_t *q = mkport_queue();
	struct timespec due;
	struct sys_timer m;
	double at;
	int i;

	for (i = 0; i < ONESHOTS; i++) {
		at = now_ns() + ONESHOT_NS;
		due = ns_ts(at);
		prep_timer(&m, CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL, q);
		if (sendsys(sysport(), &m.hdr, sizeof(m)) != EASYNC || waitsys(q, &m.hdr) != 0)
			abort();
		lateness[i] = now_ns() - at;
	}
	rmport(q);
	return summarize(ONESHOTS);
}

static struct tickrun
base_oneshot(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), i;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t x;
	double at;

	for (i = 0; i < ONESHOTS; i++) {
		at = now_ns() + ONESHOT_NS;
		its.it_value = ns_ts(at);
		timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
		if (read(fd, &x, sizeof(x)) != sizeof(x))
			abort();
		lateness[i] = now_ns() - at;
	}
	close(fd);
	return summarize(ONESHOTS);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
mid(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[n / 2];
}

static void
row(const char *name, const char *what, double ours, double base)
{
	printf("%-34s %-28s %10.1f ns\n", what, "msgport timer", ours);
	printf("%-34s %-28s %10.1f ns\n", "", "timerfd read", base);
	printf("RATIO %s %.3f\n", name, ours / base);
}

/*
 * timer-*: medians over the runs (ours and timerfd alternating) of each
 * run's median and 99th-percentile lateness over 10,000 periods of 100
 * us, of its last expiry's lateness (drift: what a timer re-armed from
 * its last wake-up would pile up, about 10,000 wake-up latencies), and
 * of 300 one-shots' median lateness.
 */
static void
timer_compare(void)
{
	double om[101], op[101], ol[101], oo[101], bm[101], bp[101], bl[101], bo[101];
	int runs = bench_runs() < 5 ? bench_runs() : 5, i;
	struct tickrun r;

	for (i = 0; i < runs; i++) {
		r = ours_timer();
		om[i] = r.median, op[i] = r.p99, ol[i] = r.last;
		r = base_timerfd();
		bm[i] = r.median, bp[i] = r.p99, bl[i] = r.last;
		r = ours_oneshot();
		oo[i] = r.median;
		r = base_oneshot();
		bo[i] = r.median;
	}
	row("timer-median", "timer lateness, median (100 us)", mid(om, runs), mid(bm, runs));
	row("timer-p99", "timer lateness, 99th percentile", mid(op, runs), mid(bp, runs));
	row("timer-drift", "last of 10,000 expiries, late", mid(ol, runs), mid(bl, runs));
	row("timer-oneshot", "one-shot (1 ms) lateness, median", mid(oo, runs), mid(bo, runs));
	fflush(stdout);
}

int
main(void)
{
	struct server fd_srv, act_srv;
	pthread_t ours;

	fflush(stdout);
	serve(&fd_srv, setup_signalfd, base_signalfd);
	serve(&act_srv, setup_sigaction, base_sigaction);
	self = getpid();
	our_port = mkport_queue();
	prep_signal(&our_msg, OUR_SIG, our_port);
	if (sendsys(sysport(), &our_msg.hdr, sizeof(our_msg)) != EASYNC)
		abort();
	pthread_create(&ours, NULL, our_receiver, NULL);

	bench_compare("signal-vs-signalfd", "kill -> message in hand", ours_signal, NULL,
	    "kill -> signalfd read", remote, &fd_srv, 20000);
	bench_compare("signal-vs-sigaction", "kill -> message in hand", ours_signal, NULL,
	    "kill -> handler in a thread", remote, &act_srv, 20000);
	unserve(&act_srv);	/* first: it holds a copy of fd_srv's pipe */
	unserve(&fd_srv);
	timer_compare();

	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	abortsys(&our_msg.hdr);
	pthread_join(ours, NULL);
	return 0;
}
