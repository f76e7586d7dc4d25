/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evloop - msgport inside an application's own libevent loop.
 *
 * The application runs its own event_base, as a libevent program does;
 * it adds the reply port's descriptor (portfd()) to it as one more
 * persistent read event, and takes the replies in that event's callback
 * with getport(), never blocking in waitsys().  Three system calls go out
 * as asynchronous messages: a read of an empty pipe (it waits in the
 * library's own event loop thread), a 30 ms nanosleep (it runs on a
 * worker) and a second read that is aborted.  When the sleep comes back,
 * the application arms a timer of its own base; its callback writes to
 * the pipe, which completes the first read.  When every message is back
 * the callback ends the loop.  The library's event loop and the
 * application's are separate bases on separate threads: see sysport(3)
 * for what the library's libevent threading setup means to an
 * application.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include <msgport.h>
#include <msgport-sys.h>

#include "../cli.h"

static struct event_base *base;
static struct event *timer;
static int pipefd[2], pending;
static struct sys_read rd, stuck;
static struct sys_nanosleep nap;
static char buf[16];

static void
send_async(msg_t *m, size_t size, msgport_t *rport, const char *what)
{
	int r;

	prep_async(m, rport);
	if ((r = sendsys(sysport(), m, size)) != EASYNC) {
		/* finished at once: not returned to the port (sendsys(3)) */
		fprintf(stderr, "evloop: %s did not wait: %s\n", what, strerror(r));
		return;
	}
	pending++;
	printf("sent %s: EASYNC\n", what);
}

/* The application's own timer: the pipe gets its bytes. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	printf("application timer: writing to the pipe\n");
	if (write(pipefd[1], "ping", 4) != 4)
		perror("evloop: write");
}

/* The reply port's descriptor is readable: take every reply there is. */
static void
on_replies(evutil_socket_t fd, short what, void *arg)
{
	struct timeval ten_ms = { 0, 10000 };
	msgport_t *rport = arg;
	msg_t *m;

	(void)fd, (void)what;
	while ((m = getport(rport)) != NULL) {
		pending--;
		if (m == &nap.hdr) {
			printf("reply: nanosleep, error %d\n", m->ms_error);
			evtimer_add(timer, &ten_ms);
		} else if (m == &rd.hdr) {
			printf("reply: read, %lld bytes: %.*s\n", (long long)m->ms_result,
			    (int)m->ms_result, buf);
		} else if (m == &stuck.hdr) {
			printf("reply: the aborted read, %s\n", strerror(m->ms_error));
		}
	}
	if (pending == 0)
		event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	struct timespec thirty_ms = { 0, 30 * 1000000L };
	struct event *ev;
	msgport_t *rport;
	char other[1];

	cli_prog = "evloop";
	cli_usage = "";
	cli_help = "msgport replies taken in an application's own libevent loop.\n";
	cli_noargs(argc, argv);
	if (pipe(pipefd) != 0 || (rport = mkport_queue()) == NULL ||
	    (base = event_base_new()) == NULL) {
		perror("evloop: setup");
		return 1;
	}
	/* the port's descriptor is one more event of the application's loop */
	ev = event_new(base, portfd(rport), EV_READ | EV_PERSIST, on_replies, rport);
	timer = evtimer_new(base, on_timer, NULL);
	if (ev == NULL || timer == NULL || event_add(ev, NULL) != 0) {
		fprintf(stderr, "evloop: cannot add the reply port to the loop\n");
		return 1;
	}

	prep_read(&rd, pipefd[0], buf, sizeof(buf));
	send_async(&rd.hdr, sizeof(rd), rport, "read of an empty pipe");
	prep_nanosleep(&nap, &thirty_ms, NULL);
	send_async(&nap.hdr, sizeof(nap), rport, "nanosleep 30 ms");
	/* a second reader of the same pipe, given up on before anything comes */
	prep_read(&stuck, pipefd[0], other, sizeof(other));
	send_async(&stuck.hdr, sizeof(stuck), rport, "read to abort");
	abortsys(&stuck.hdr);
	fflush(stdout);

	event_base_dispatch(base);	/* returns once every message is back */
	printf("all %s back: the loop has ended\n", pending == 0 ? "messages" : "BUT SOME");

	event_free(ev);			/* out of the loop before rmport closes the fd */
	event_free(timer);
	event_base_free(base);
	rmport(rport);
	close(pipefd[0]);
	close(pipefd[1]);
	return pending == 0 && rd.hdr.ms_result == 4 && memcmp(buf, "ping", 4) == 0 &&
	    stuck.hdr.ms_error == ECANCELED ? 0 : 1;
}
