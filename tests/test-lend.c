/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a thread waiting on a queue port lends itself to the
 * kernel: the descriptors it parked messages on are run on that thread
 * when they become ready (the trace says "run ... how=lent" from the
 * waiter), not handed over by the event loop's thread.  Around that:
 * a pool reply, a reply from the loop thread and a closed port still
 * wake a lending thread; a timed wait times out and the message comes
 * later; threads lend side by side and every message comes back once;
 * sysport_stop() takes a lending thread's messages back; an upcall
 * that interrupts a lending thread may wait itself; threads that end
 * give their sets to others (more threads than sets); a fork child
 * lends on its own while the parent's message stays the parent's.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kputil.h"

/* ThreadSanitizer refuses threads in a child of a threaded parent unless told. */
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
	return "die_after_fork=0";
}

static pid_t
gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * sleeps_in
 *	Wait (up to 20 s) until thread tid of this process sits in system
 *	call nr or nr2, as /proc says; false if it never did.  So a test
 *	acts only once the waiter is asleep, whatever the machine's speed.
 */
static bool
sleeps_in(pid_t tid, long nr, long nr2)
{
	char path[64], line[256];
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	for (i = 0; i < 20000; i++) {
		FILE *f = fopen(path, "r");
		long now = -1;

		if (f != NULL) {
			if (fgets(line, sizeof(line), f) != NULL)
				now = strtol(line, NULL, 10);
			fclose(f);
		}
		if (now == nr || now == nr2)
			return true;
		usleep(1000);
	}
	return false;
}

/* A lending thread sleeps in ppoll(), one that does not in futex(). */
#define lending(tid)	sleeps_in(tid, SYS_ppoll, SYS_ppoll)
#define asleep(tid)	sleeps_in(tid, SYS_ppoll, SYS_futex)

/* A new socketpair, and a receive of one byte on sv[0] parked, replies to rp. */
static void
park_recv(int sv[2], struct sys_recvfrom *rv, char *b, msgport_t *rp)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_recv(rv, sv[0], b, 1, 0);
	prep_async(&rv->hdr, rp);
	assert_int_equal(sendsys(sysport(), &rv->hdr, sizeof(*rv)), EASYNC);
}

/* ---- the trace: who runs a parked receive ---- */

struct writer {
	pid_t	tid;		/* write once this thread sleeps in a ppoll() */
	int	fd;
};

static void *
write_when_lending(void *arg)
{
	struct writer *w = arg;

	(void)lending(w->tid);	/* on today's main it never does */
	if (write(w->fd, "x", 1) != 1)
		return (void *)1;
	return NULL;
}

/*
 * lent_recv
 *	Park a receive on a new socketpair, replies to rp; a thread writes
 *	its byte once this one lends; wait for it (for any message on rp if
 *	any).  0, or the step that went wrong.
 */
static int
lent_recv(msgport_t *rp, bool any)
{
	struct sys_recvfrom rv;
	struct writer w;
	pthread_t t;
	char b = 0;
	int sv[2], r = 0;

	if (rp == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 1;
	prep_recv(&rv, sv[0], &b, 1, 0);
	prep_async(&rv.hdr, rp);
	if (sendsys(sysport(), &rv.hdr, sizeof(rv)) != EASYNC)
		r = 2;
	w.tid = gettid_();
	w.fd = sv[1];
	if (r == 0 && pthread_create(&t, NULL, write_when_lending, &w) != 0)
		r = 3;
	if (r == 0) {
		if (any ? waitsys(rp, NULL) != 0 || getport(rp) != &rv.hdr : waitsys(rp, &rv.hdr) != 0)
			r = 4;
		else if (rv.hdr.ms_result != 1 || b != 'x')
			r = 5;
		pthread_join(t, NULL);
	}
	close(sv[0]);
	close(sv[1]);
	return r;
}

/* Twice: waiting for the receive, then for any message. */
static int
trace_child(void)
{
	msgport_t *rp = mkport_queue();
	int r;

	if ((r = lent_recv(rp, false)) == 0 && (r = lent_recv(rp, true)) == 0 && rmport(rp) != 0)
		r = 6;
	return r == 0 && sysport_stop() != 0 ? 7 : r;
}

static char trace[300];

static void
a_waiting_thread_runs_its_own_descriptors(void **s)
{
	char line[512], main_tid[32] = "", tid[32];
	int lent = 0, other = 0;
	FILE *f;

	(void)s;
	snprintf(trace, sizeof(trace), "%s/trace", kp_dir);
	kp_rerun("MSGPORT_TRACE", trace, "trace");
	/* "TIME TID what ...": the first line is the main thread's name */
	f = fopen(trace, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %31s", tid) != 1)
			continue;
		if (main_tid[0] == '\0')
			snprintf(main_tid, sizeof(main_tid), "%s", tid);
		if (strstr(line, " run ") == NULL || strstr(line, "/recvfrom") == NULL)
			continue;
		if (strstr(line, " how=lent") != NULL && strcmp(tid, main_tid) == 0)
			lent++;
		else
			other++;
	}
	fclose(f);
	if (lent != 2)
		print_error("%d receives run by their waiter, %d elsewhere (%s)\n", lent, other, trace);
	assert_int_equal(lent, 2);
	assert_int_equal(other, 0);
}

/* ---- wake-ups from elsewhere ---- */

/* A pool reply, a loop-thread reply and a closed port each end a lend. */
static void
replies_from_elsewhere_wake_a_lender(void **s)
{
	msgport_t *rp = mkport_queue(), *rp2 = mkport_queue();
	struct sys_recvfrom rv;
	struct sys_syscall sc;
	struct sys_nanosleep ns;
	struct timespec ms10 = { 0, 10000000 };
	char b[4];
	int sv[2];

	(void)s;
	assert_non_null(rp);
	assert_non_null(rp2);
	/* a parked receive makes this thread one that can lend */
	park_recv(sv, &rv, b, rp);
	/* the generic call always goes to the pool */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&sc.hdr, rp);
	assert_int_equal(sendsys(sysport(), &sc.hdr, sizeof(sc)), EASYNC);
	assert_int_equal(waitsys(rp, &sc.hdr), 0);
	assert_int_equal(sc.hdr.ms_result, getppid());
	/* on another port, waiting for any message */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&sc.hdr, rp2);
	assert_int_equal(sendsys(sysport(), &sc.hdr, sizeof(sc)), EASYNC);
	assert_int_equal(waitsys(rp2, NULL), 0);
	assert_ptr_equal(getport(rp2), &sc.hdr);
	/* a sleep's timer is the loop thread's */
	prep_nanosleep(&ns, &ms10, NULL);
	prep_async(&ns.hdr, rp);
	assert_int_equal(sendsys(sysport(), &ns.hdr, sizeof(ns)), EASYNC);
	assert_int_equal(waitsys(rp, &ns.hdr), 0);
	/* the receive is still there, and comes */
	assert_false(kp_flags(&rv.hdr) & MSGF_DONE);
	assert_int_equal(write(sv[1], "y", 1), 1);
	assert_int_equal(waitsys(rp, &rv.hdr), 0);
	assert_int_equal(rv.hdr.ms_result, 1);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	assert_int_equal(rmport(rp2), 0);
	close(sv[0]);
	close(sv[1]);
}

struct closer {
	pid_t		tid;
	msgport_t	*port;
};

static void *
close_when_asleep(void *arg)
{
	struct closer *c = arg;

	if (!asleep(c->tid))
		return (void *)1;
	return closeport(c->port) == 0 ? NULL : (void *)2;
}

/* closeport() wakes a thread lending on the port: it gets EPIPE. */
static void
closing_the_port_ends_a_lend(void **s)
{
	msgport_t *rp = mkport_queue(), *idle = mkport_queue();
	struct closer c = { gettid_(), idle };
	struct sys_recvfrom rv;
	void *ret;
	pthread_t t;
	char b[4];
	int sv[2];

	(void)s;
	park_recv(sv, &rv, b, rp);
	assert_int_equal(pthread_create(&t, NULL, close_when_asleep, &c), 0);
	assert_int_equal(waitsys(idle, NULL), EPIPE);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_null(ret);
	assert_int_equal(rmport(idle), 0);
	assert_int_equal(abortsys(&rv.hdr), 0);
	assert_int_equal(waitsys(rp, &rv.hdr), ECANCELED);
	assert_int_equal(rmport(rp), 0);
	close(sv[0]);
	close(sv[1]);
}

/* A timed wait gives up while lending; the message comes later, once. */
static void
a_timed_wait_times_out_while_lending(void **s)
{
	struct timespec ms20 = { 0, 20000000 };
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	char b[4];
	int sv[2];

	(void)s;
	park_recv(sv, &rv, b, rp);
	assert_int_equal(timedwaitsys(rp, &rv.hdr, &ms20), ETIMEDOUT);
	assert_int_equal(timedwaitsys(rp, NULL, &ms20), ETIMEDOUT);
	assert_false(kp_flags(&rv.hdr) & MSGF_DONE);
	assert_int_equal(write(sv[1], "z", 1), 1);
	assert_int_equal(waitsys(rp, NULL), 0);
	assert_ptr_equal(getport(rp), &rv.hdr);
	assert_int_equal(rv.hdr.ms_result, 1);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	close(sv[0]);
	close(sv[1]);
}

/* ---- many at once ---- */

#define NPAIRS	4
#define ROUNDS	400

/*
 * One end of a ping-pong: every round sends one byte and receives one,
 * both as messages to its own reply port; the first end sends first.
 * Each message must come back once, with its byte.
 */
struct end {
	int		fd;
	bool		first;
	int		bad;
	unsigned	returned;
};


/* Send m, replies to rp; wait for it: its result, or -1. */
static long
sendwait(msg_t *m, size_t size, msgport_t *rp)
{
	prep_async(m, rp);
	(void)sendsys(sysport(), m, size);
	if (waitsys(rp, m) != 0)
		return -1;
	return m->ms_result;
}

static void *
pingpong(void *arg)
{
	struct end *e = arg;
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	struct sys_sendto sd;
	char out, in;
	int i;

	for (i = 0; i < ROUNDS && rp != NULL && !e->bad; i++) {
		out = (char)i;
		in = 0;
		prep_recv(&rv, e->fd, &in, 1, 0);
		prep_send(&sd, e->fd, &out, 1, MSG_NOSIGNAL);
		if (e->first && sendwait(&sd.hdr, sizeof(sd), rp) != 1)
			e->bad = 1;
		if (sendwait(&rv.hdr, sizeof(rv), rp) != 1 || in != (char)i)
			e->bad = 2;
		if (!e->first && sendwait(&sd.hdr, sizeof(sd), rp) != 1)
			e->bad = 3;
		e->returned += 2;
		if (getport(rp) != NULL)
			e->bad = 4;	/* returned twice */
	}
	if (rp == NULL || rmport(rp) != 0)
		e->bad = 5;
	return NULL;
}

static void
threads_lend_side_by_side_each_message_once(void **s)
{
	struct end ends[NPAIRS][2];
	pthread_t t[NPAIRS][2];
	int sv[2], i, j;

	(void)s;
	for (i = 0; i < NPAIRS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		for (j = 0; j < 2; j++) {
			ends[i][j] = (struct end){ .fd = sv[j], .first = j == 0 };
			assert_int_equal(pthread_create(&t[i][j], NULL, pingpong, &ends[i][j]), 0);
		}
	}
	for (i = 0; i < NPAIRS; i++)
		for (j = 0; j < 2; j++) {
			assert_int_equal(pthread_join(t[i][j], NULL), 0);
			assert_int_equal(ends[i][j].bad, 0);
			assert_int_equal(ends[i][j].returned, 2 * ROUNDS);
			close(ends[i][j].fd);
		}
}

/* More threads than sets, one after another, each parking and lending. */
static void *
park_and_wait(void *arg)
{
	int *fd = arg;
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	char b;
	long r = -1;

	if (rp == NULL)
		return (void *)-1L;
	prep_recv(&rv, fd[0], &b, 1, 0);
	prep_async(&rv.hdr, rp);
	if (sendsys(sysport(), &rv.hdr, sizeof(rv)) == EASYNC || msgdone(&rv.hdr)) {
		if (write(fd[1], "w", 1) == 1 && waitsys(rp, &rv.hdr) == 0)
			r = rv.hdr.ms_result;
	}
	(void)rmport(rp);
	return (void *)r;
}

/* A thread that ends leaves a parked message behind: it still comes. */
static void *
park_and_leave(void *arg)
{
	struct sys_recvfrom *rv = arg;

	return (void *)(long)sendsys(sysport(), &rv->hdr, sizeof(*rv));
}

static void
threads_that_end_give_their_sets_to_others(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	pthread_t t;
	void *ret;
	char b;
	int sv[2], i;

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (i = 0; i < 150; i++) {
		assert_int_equal(pthread_create(&t, NULL, park_and_wait, sv), 0);
		assert_int_equal(pthread_join(t, &ret), 0);
		assert_int_equal((long)ret, 1);
	}
	prep_recv(&rv, sv[0], &b, 1, 0);
	prep_async(&rv.hdr, rp);
	assert_int_equal(pthread_create(&t, NULL, park_and_leave, &rv), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((long)ret, EASYNC);
	/* its set may be another thread's now, lending or not */
	assert_int_equal(pthread_create(&t, NULL, park_and_wait, sv), 0);
	assert_int_equal(write(sv[1], "v", 1), 1);
	assert_int_equal(waitsys(rp, &rv.hdr), 0);
	assert_int_equal(rv.hdr.ms_result, 1);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((long)ret, 1);
	assert_int_equal(rmport(rp), 0);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the edges: stop, upcalls, fork ---- */

struct stopped {
	int	fd;
	pid_t	tid;
	int	err;
};

static void *
lend_until_stopped(void *arg)
{
	struct stopped *st = arg;
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	char b;

	__atomic_store_n(&st->tid, gettid_(), __ATOMIC_RELEASE);
	prep_recv(&rv, st->fd, &b, 1, 0);
	prep_async(&rv.hdr, rp);
	if (sendsys(sysport(), &rv.hdr, sizeof(rv)) != EASYNC)
		st->err = -1;
	else
		st->err = waitsys(rp, &rv.hdr);
	(void)rmport(rp);
	return NULL;
}

static void
stop_takes_back_a_lenders_messages(void **s)
{
	struct stopped st = { .tid = 0 };
	struct sys_getpid g;
	pthread_t t;
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	st.fd = sv[0];
	assert_int_equal(pthread_create(&t, NULL, lend_until_stopped, &st), 0);
	while (__atomic_load_n(&st.tid, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	assert_true(lending(st.tid));
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(st.err, ECANCELED);
	assert_int_equal(sysport_start(NULL), 0);
	prep_getpid(&g);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	close(sv[0]);
	close(sv[1]);
}

/*
 * The upcall runs in the lending thread, interrupting its wait; in it,
 * the thread parks a receive of its own and waits for it, and answers
 * the receive the outer wait is for.
 */
static int upsv[2], innersv[2];
static int upcall_err = -1;

static void
nested(msgport_t *port, void *arg)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	msg_t *m;
	char b;

	(void)arg;
	if ((m = getport(port)) == NULL || rp == NULL)
		return;
	prep_recv(&rv, innersv[0], &b, 1, 0);
	prep_async(&rv.hdr, rp);
	if (sendsys(sysport(), &rv.hdr, sizeof(rv)) != EASYNC && !msgdone(&rv.hdr))
		return;
	upcall_err = waitsys(rp, &rv.hdr) == 0 && rv.hdr.ms_result == 1 ? 0 : 1;
	(void)rmport(rp);
	(void)!write(upsv[1], "u", 1);	/* now the outer receive can end */
}

static void *
write_inner(void *arg)
{
	pid_t *tid = arg;

	(void)asleep(*tid);
	usleep(10000);		/* any order is right; this is the nested one */
	return write(innersv[1], "i", 1) == 1 ? NULL : (void *)1;
}

static void
an_upcall_in_a_lending_thread_may_wait_itself(void **s)
{
	msgport_t *rp = mkport_queue(), *up = mkport_upcall(nested, NULL);
	struct sys_recvfrom rv;
	struct sys_syscall sc;
	pid_t me = gettid_();
	pthread_t t;
	char b;

	(void)s;
	assert_non_null(up);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, innersv), 0);
	park_recv(upsv, &rv, &b, rp);
	assert_int_equal(pthread_create(&t, NULL, write_inner, &me), 0);
	/* a pool call replies to the upcall port while we wait */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&sc.hdr, up);
	assert_int_equal(sendsys(sysport(), &sc.hdr, sizeof(sc)), EASYNC);
	assert_int_equal(waitsys(rp, &rv.hdr), 0);
	assert_int_equal(rv.hdr.ms_result, 1);
	assert_int_equal(b, 'u');
	assert_int_equal(upcall_err, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rmport(up), 0);
	assert_int_equal(rmport(rp), 0);
	close(upsv[0]);
	close(upsv[1]);
	close(innersv[0]);
	close(innersv[1]);
}

static int
forked_child(void)
{
	msgport_t *rp;
	int r;

#ifdef __SANITIZE_THREAD__
	/* TSan cannot start threads in a child of a threaded parent ("dup
	   thread"): the child's lending is checked in the other builds. */
	return 0;
#endif
	if (sysport_start(NULL) != 0)
		return 10;
	rp = mkport_queue();
	if ((r = lent_recv(rp, false)) != 0)
		return 10 + r;
	return rmport(rp) == 0 && sysport_stop() == 0 ? 0 : 20;
}

static void
a_fork_child_lends_on_its_own(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rv;
	int sv[2], status;
	pid_t pid;
	char b;

	(void)s;
	park_recv(sv, &rv, &b, rp);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(forked_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent's receive is still the parent's */
	assert_false(kp_flags(&rv.hdr) & MSGF_DONE);
	assert_int_equal(write(sv[1], "p", 1), 1);
	assert_int_equal(waitsys(rp, &rv.hdr), 0);
	assert_int_equal(rv.hdr.ms_result, 1);
	assert_int_equal(b, 'p');
	assert_int_equal(rmport(rp), 0);
	close(sv[0]);
	close(sv[1]);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_waiting_thread_runs_its_own_descriptors),
		cmocka_unit_test(replies_from_elsewhere_wake_a_lender),
		cmocka_unit_test(closing_the_port_ends_a_lend),
		cmocka_unit_test(a_timed_wait_times_out_while_lending),
		cmocka_unit_test(threads_lend_side_by_side_each_message_once),
		cmocka_unit_test(threads_that_end_give_their_sets_to_others),
		cmocka_unit_test(stop_takes_back_a_lenders_messages),
		cmocka_unit_test(an_upcall_in_a_lending_thread_may_wait_itself),
		cmocka_unit_test(a_fork_child_lends_on_its_own),
	};

	if (argc > 1 && strcmp(argv[1], "trace") == 0)
		return trace_child();
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, kp_group_tmpdir, kp_group_rmtree);
}
