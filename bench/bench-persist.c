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
 *  timer-drift, timer-jitter: a 100 us CLOCK_MONOTONIC periodic timer for
 *	10,000 periods, taken in a loop, against a timerfd read in a loop.
 *	Each tick's lateness is when it was taken minus its due time
 *	(start + k * period, k the last expiry reported).  jitter: the
 *	median lateness; drift: how far the median lateness of the last
 *	tenth of the run is from that of the first tenth -- what a timer
 *	re-armed relative to its last wakeup would pile up (about 10,000
 *	wakeup latencies: hundreds of ms).  Floored at 10 us, a tenth of a
 *	period: below that it is scheduling noise on a busy machine, so two
 *	timers that both keep their schedule read as 1.0.
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
#define DRIFT_FLOOR	10000.0		/* ns: a tenth of a period, below which it is noise */

struct tickrun {
	double	jitter;		/* median lateness, ns */
	double	drift;		/* lateness, last tenth minus first tenth, ns */
};

static double lateness[PERIODS + 1];

static double
ts_ns(const struct timespec *t)
{
	return (double)t->tv_sec * 1e9 + (double)t->tv_nsec;
}

/* Note tick k (the last expiry reported) taken now. */
static int
note(double start, uint64_t k, int n)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (n <= PERIODS)
		lateness[n] = ts_ns(&now) - (start + (double)k * PERIOD_NS);
	return n + 1;
}

static struct tickrun
summarize(int n)
{
	struct tickrun r;
	double *v = malloc(sizeof(double) * (size_t)n), first, last;
	int tenth = n / 10;

	memcpy(v, lateness, sizeof(double) * (size_t)n);
	first = bench_median(v, tenth);
	memcpy(v, lateness + n - tenth, sizeof(double) * (size_t)tenth);
	last = bench_median(v, tenth);
	memcpy(v, lateness, sizeof(double) * (size_t)n);
	r.jitter = bench_median(v, n);
	free(v);
	r.drift = fabs(last - first);
	if (r.drift < DRIFT_FLOOR)
		r.drift = DRIFT_FLOOR;
	return r;
}

static struct tickrun
ours_timer(void)
{
	struct timespec p = { 0, PERIOD_NS }, t0;
	msgport_t *q = mkport_queue();
	struct sys_timer m;
	uint64_t k = 0;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	prep_timer(&m, CLOCK_MONOTONIC, 0, &p, &p, q);
	if (sendsys(sysport(), &m.hdr, sizeof(m)) != EASYNC)
		abort();
	while (k < PERIODS) {
		if (waitsys(q, &m.hdr) != 0)
			abort();
		k += m.hdr.ms_count;
		n = note(ts_ns(&t0), k, n);
		rearmsys(&m.hdr);
	}
	abortsys(&m.hdr);
	while (waitsys(q, &m.hdr) == 0)
		rearmsys(&m.hdr);
	rmport(q);
	return summarize(n);
}

static struct tickrun
base_timerfd(void)
{
	struct itimerspec its = { { 0, PERIOD_NS }, { 0, PERIOD_NS } };
	struct timespec t0;
	uint64_t k = 0, x;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	timerfd_settime(fd, 0, &its, NULL);
	while (k < PERIODS) {
		if (read(fd, &x, sizeof(x)) != sizeof(x))
			abort();
		k += x;
		n = note(ts_ns(&t0), k, n);
	}
	close(fd);
	return summarize(n);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
timer_compare(void)
{
	double oj[101], od[101], bj[101], bd[101], ojm, odm, bjm, bdm;
	int runs = bench_runs() < 3 ? bench_runs() : 3, i;
	struct tickrun r;

	for (i = 0; i < runs; i++) {
		r = ours_timer();
		oj[i] = r.jitter;
		od[i] = r.drift;
		r = base_timerfd();
		bj[i] = r.jitter;
		bd[i] = r.drift;
	}
	qsort(oj, (size_t)runs, sizeof(double), cmp_double);
	qsort(od, (size_t)runs, sizeof(double), cmp_double);
	qsort(bj, (size_t)runs, sizeof(double), cmp_double);
	qsort(bd, (size_t)runs, sizeof(double), cmp_double);
	ojm = oj[runs / 2];
	odm = od[runs / 2];
	bjm = bj[runs / 2];
	bdm = bd[runs / 2];
	printf("%-34s %-28s %10.1f ns\n", "timer-drift (10,000 x 100 us)", "msgport timer", odm);
	printf("%-34s %-28s %10.1f ns\n", "", "timerfd read loop", bdm);
	printf("RATIO timer-drift %.3f\n", odm / bdm);
	printf("%-34s %-28s %10.1f ns\n", "timer-jitter (median lateness)", "msgport timer", ojm);
	printf("%-34s %-28s %10.1f ns\n", "", "timerfd read loop", bjm);
	printf("RATIO timer-jitter %.3f\n", ojm / bjm);
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
