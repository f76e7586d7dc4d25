/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every port is a descriptor, readable exactly while a
 * message is pending, in poll(), epoll and a libevent loop; in a child of
 * fork() a port's descriptor is the child's own, so nothing the child
 * does with it changes the parent's.
 */
#include <event2/event.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static int
readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	assert_true(n >= 0);
	return n == 1 && (p.revents & POLLIN);
}

static void
poll_sees_pending_and_drained(void **state)
{
	struct testserver ts;
	struct testmsg tm[2];
	msgport_t *rport = mkport_queue();
	int fd = portfd(rport), i;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(portfd(rport), fd);
	testserver_start(&ts);
	assert_false(readable(fd, 0));
	for (i = 0; i < 2; i++) {
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, rport, i);
		assert_int_equal(sendsys(ts.port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	assert_true(readable(fd, 30000));
	testserver_sync(&ts);			/* both back, both pending */
	assert_ptr_equal(getport(rport), &tm[0].hdr);
	assert_true(readable(fd, 0));		/* one still pending */
	assert_ptr_equal(getport(rport), &tm[1].hdr);
	assert_false(readable(fd, 0));		/* drained */
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
fd_armed_late_sees_what_is_already_queued(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 1);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(rport, NULL), 0);
	assert_true(readable(portfd(rport), 0));
	assert_ptr_equal(getport(rport), &tm.hdr);
	assert_false(readable(portfd(rport), 0));
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
epoll_waits_for_a_reply(void **state)
{
	struct testserver ts;
	struct testmsg held, release;
	msgport_t *rport = mkport_queue();
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	(void)state;
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, portfd(rport), &ev), 0);
	testserver_start(&ts);
	testmsg_init(&held, TCMD_HOLD, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(ts.port, &held.hdr, sizeof(held)), EASYNC);
	assert_int_equal(epoll_wait(ep, &out, 1, 20), 0);	/* nothing yet */
	testmsg_init(&release, TCMD_RELEASE, 0, NULL, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), 0);
	assert_int_equal(epoll_wait(ep, &out, 1, 30000), 1);
	assert_ptr_equal(getport(rport), &held.hdr);
	assert_int_equal(epoll_wait(ep, &out, 1, 0), 0);
	close(ep);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

#define NEDGE 2000

struct trickle {
	msgport_t	*server;
	msgport_t	*rport;
	struct testmsg	*tm;
};

static void *
trickle_main(void *arg)
{
	struct trickle *t = arg;

	for (int i = 0; i < NEDGE; i++) {
		testmsg_init(&t->tm[i], TCMD_ECHO, MSGF_ASYNC, t->rport, i);
		assert_int_equal(sendsys(t->server, &t->tm[i].hdr, sizeof(t->tm[i])), EASYNC);
		if (i % 7 == 0)
			sched_yield();
	}
	return NULL;
}

static void
edge_triggered_readiness_means_takeable(void **state)
{
	static struct testmsg tm[NEDGE];
	struct testserver ts;
	struct trickle t;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC), got = 0;
	pthread_t sender;
	msg_t *m;

	(void)state;
	testserver_start(&ts);
	t.server = ts.port;
	t.rport = mkport_queue();
	t.tm = tm;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, portfd(t.rport), &ev), 0);
	assert_int_equal(pthread_create(&sender, NULL, trickle_main, &t), 0);
	/* An edge, then drain until empty: a message that was counted but
	   not takeable would be stranded with no further edge (30 s limit). */
	while (got < NEDGE) {
		assert_int_equal(epoll_wait(ep, &out, 1, 30000), 1);
		while ((m = getport(t.rport)) != NULL)
			got++;
	}
	assert_int_equal(got, NEDGE);
	assert_int_equal(pthread_join(sender, NULL), 0);
	close(ep);
	testserver_stop(&ts);
	assert_int_equal(rmport(t.rport), 0);
}

#define NLOOP 200

struct loopstate {
	struct event_base *base;
	msgport_t *rport;
	int got;
};

static void
on_port_readable(evutil_socket_t fd, short what, void *arg)
{
	struct loopstate *ls = arg;
	msg_t *m;

	(void)fd;
	assert_true(what & EV_READ);
	while ((m = getport(ls->rport)) != NULL) {
		assert_int_equal(m->ms_error, 0);
		ls->got++;
	}
	if (ls->got == NLOOP)
		event_base_loopbreak(ls->base);
}

static void
libevent_loop_drains_the_port(void **state)
{
	struct testserver ts;
	static struct testmsg tm[NLOOP];
	struct loopstate ls = { 0 };
	struct event *ev;
	int i;

	(void)state;
	ls.base = event_base_new();
	ls.rport = mkport_queue();
	assert_non_null(ls.base);
	ev = event_new(ls.base, portfd(ls.rport), EV_READ | EV_PERSIST, on_port_readable, &ls);
	assert_int_equal(event_add(ev, NULL), 0);
	testserver_start(&ts);
	for (i = 0; i < NLOOP; i++) {
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, ls.rport, i);
		assert_int_equal(sendsys(ts.port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	assert_int_equal(event_base_dispatch(ls.base), 0);
	assert_int_equal(ls.got, NLOOP);
	event_free(ev);
	event_base_free(ls.base);
	testserver_stop(&ts);
	assert_int_equal(rmport(ls.rport), 0);
}

/*
 * The child of a fork: takes the message pending on rport (the parent's
 * descriptor is readable for it), then puts one there and says if fd,
 * the number it inherited, works for it.  Exit code 0: all as expected.
 */
static int
child_uses_the_port(msgport_t *rport, int fd)
{
	struct testmsg tm;

	if (getport(rport) == NULL || readable(fd, 0))
		return 60;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	if (sendsys(rport, &tm.hdr, sizeof(tm)) != EASYNC || !readable(fd, 0) ||
	    portfd(rport) != fd)
		return 61;
	return getport(rport) == &tm.hdr && !readable(fd, 0) ? 0 : 62;
}

static void
fork_child_has_its_own_descriptor(void **state)
{
	msgport_t *rport = mkport_queue();
	struct testmsg tm;
	int fd = portfd(rport), status;
	pid_t pid;

	(void)state;
	assert_true(fd >= 0);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(rport, &tm.hdr, sizeof(tm)), EASYNC);
	assert_true(readable(fd, 0));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_uses_the_port(rport, fd));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* still readable for the parent's pending message, and only for it */
	assert_true(readable(fd, 0));
	assert_ptr_equal(getport(rport), &tm.hdr);
	assert_false(readable(fd, 0));
	assert_null(getport(rport));
	assert_int_equal(replymsg(&tm.hdr, 0), 0);
	assert_int_equal(rmport(rport), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(poll_sees_pending_and_drained),
		cmocka_unit_test(fd_armed_late_sees_what_is_already_queued),
		cmocka_unit_test(epoll_waits_for_a_reply),
		cmocka_unit_test(libevent_loop_drains_the_port),
		cmocka_unit_test(edge_triggered_readiness_means_takeable),
		cmocka_unit_test(fork_child_has_its_own_descriptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
