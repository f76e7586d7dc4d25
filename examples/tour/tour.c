/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tour - a first walk through msgport: ports, messages, reply ports.
 *
 * A "server" thread owns a port and answers requests; main() is its
 * client.  The tour sends one message synchronously, then several
 * asynchronously with a queue reply port, waits for them three ways,
 * watches the reply port's descriptor with poll(), and aborts a request
 * nobody has taken yet.  Then the same calls carry real system calls to
 * the system port, the emulated kernel; last, a plugged thread sends
 * several reads that go to the kernel together, in one system call.  Read it top to bottom; each step
 * prints what happened and which flags the message carried.  Run it with
 * MSGPORT_TRACE=FILE to have every step written down, and
 * tools/msgport-timeline FILE to see them thread by thread.
 */
#define _GNU_SOURCE		/* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgport.h"
#include "msgport-sys.h"

#include "../cli.h"

enum { CMD_SQUARE = 1, CMD_STOP };
/* What the trace calls them, by number (portcmdnames below). */
static const char *const cmd_names[] = { [CMD_SQUARE] = "square", [CMD_STOP] = "stop" };

/* A message is the header first, then the command's own fields. */
struct square_msg {
	msg_t	hdr;
	long	x;
};

static void
show(const char *what, msg_t *m)
{
	uint32_t f = msgflags(m);	/* the flags are readable any time */
	char res[48] = "(not yours to read yet)";

	/* The results are written by whoever runs it until it is done. */
	if (!(f & MSGF_INFLIGHT) || (f & MSGF_DONE))
		snprintf(res, sizeof(res), "error=%-3d result=%-6lld", m->ms_error,
		    (long long)m->ms_result);
	printf("  %-34s %-27s [%s%s%s%s%s]\n", what, res,
	    f & MSGF_INFLIGHT ? " INFLIGHT" : "", f & MSGF_DONE ? " DONE" : "",
	    f & MSGF_REPLY ? " REPLY" : "", f & MSGF_QUEUED ? " QUEUED" : "",
	    f & MSGF_ABORTED ? " ABORTED" : "");
}

/* The server: take requests off its port, answer each with replymsg(). */
static void *
server(void *arg)
{
	msgport_t *port = arg;
	msg_t *m;

	while (waitsys(port, NULL) == 0) {
		while ((m = getport(port)) != NULL) {
			struct square_msg *sq = (struct square_msg *)m;

			if (m->ms_cmd == CMD_STOP) {
				replymsg(m, 0);
				return NULL;
			}
			if (m->ms_cmd != CMD_SQUARE) {
				replymsg(m, ENOSYS);
				continue;
			}
			m->ms_result = sq->x * sq->x;
			replymsg(m, 0);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	msgport_t *sport, *rport;
	struct square_msg sq[4], stop;
	struct pollfd pfd;
	pthread_t t;
	int i, r;

	cli_prog = "tour";
	cli_usage = "";
	cli_help = "A first walk through msgport, step by step (read tour.c alongside).\n";
	cli_noargs(argc, argv);
	sport = mkport_queue();
	rport = mkport_queue();
	if (sport == NULL || rport == NULL) {
		perror("mkport_queue");
		return 1;
	}

	/* Names for the trace: the server's commands, and the server itself. */
	portcmdnames(sport, cmd_names, sizeof(cmd_names) / sizeof(cmd_names[0]));

	printf("1. A synchronous message: sendsys() returns when it is done.\n");
	pthread_create(&t, NULL, server, sport);
	pthread_setname_np(t, "server");
	initmsg(&sq[0].hdr, CMD_SQUARE, 0, NULL);
	sq[0].x = 12;
	r = sendsys(sport, &sq[0].hdr, sizeof(sq[0]));
	printf("  sendsys returned %d\n", r);
	show("square(12), synchronous:", &sq[0].hdr);

	printf("2. Asynchronous messages: EASYNC now, returned to a queue port later.\n");
	for (i = 1; i < 4; i++) {
		initmsg(&sq[i].hdr, CMD_SQUARE, MSGF_ASYNC, rport);
		sq[i].x = i * 100;
		r = sendsys(sport, &sq[i].hdr, sizeof(sq[i]));
		printf("  sendsys(square(%ld)) returned %s\n", sq[i].x,
		    r == EASYNC ? "EASYNC" : strerror(r));
	}

	printf("3. Wait three ways.\n");
	waitsys(NULL, &sq[1].hdr);		/* the message: taken off its reply port */
	show("waitsys(NULL, msg):", &sq[1].hdr);
	waitsys(rport, &sq[3].hdr);		/* the same, naming the port */
	show("waitsys(port, msg):", &sq[3].hdr);
	waitsys(rport, NULL);			/* anything pending: then take it */
	while (getport(rport) != NULL)		/* only sq[2] is left there */
		;
	show("waitsys(port, NULL) + getport:", &sq[2].hdr);

	printf("4. A port is a descriptor: poll() it like a socket.\n");
	pfd.fd = portfd(rport);
	pfd.events = POLLIN;
	printf("  readable before sending: %d\n", poll(&pfd, 1, 0));
	initmsg(&sq[0].hdr, CMD_SQUARE, MSGF_ASYNC, rport);
	sq[0].x = 7;
	sendsys(sport, &sq[0].hdr, sizeof(sq[0]));
	printf("  readable after the reply: %d\n", poll(&pfd, 1, 10000));
	show("getport:", getport(rport));
	printf("  readable once drained: %d\n", poll(&pfd, 1, 0));

	printf("5. Abort a request nobody has taken yet: returned once, ECANCELED.\n");
	initmsg(&stop.hdr, CMD_STOP, 0, NULL);
	sendsys(sport, &stop.hdr, sizeof(stop));	/* the server is gone now */
	pthread_join(t, NULL);
	initmsg(&sq[0].hdr, CMD_SQUARE, MSGF_ASYNC, rport);
	sq[0].x = 5;
	sendsys(sport, &sq[0].hdr, sizeof(sq[0]));
	show("sent to a port nobody serves:", &sq[0].hdr);
	abortsys(&sq[0].hdr);
	r = waitsys(rport, &sq[0].hdr);
	show("after abortsys + waitsys:", &sq[0].hdr);

	printf("6. The system port: a system call is a message too.\n");
	struct sys_getpid gp;
	struct sys_nanosleep ns;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	int abort_result = r;

	prep_getpid(&gp);			/* synchronous: runs in this thread */
	r = sendsys(sysport(), &gp.hdr, sizeof(gp));
	printf("  getpid() as a message: sendsys=%d result=%lld (getpid() says %d)\n",
	    r, (long long)gp.hdr.ms_result, (int)getpid());
	prep_nanosleep(&ns, &nap, NULL);	/* asynchronous: a timer of the event loop, no worker held */
	prep_async(&ns.hdr, rport);
	r = sendsys(sysport(), &ns.hdr, sizeof(ns));
	printf("  nanosleep(20 ms) sent: %s\n", r == EASYNC ? "EASYNC" : strerror(r));
	show("while it sleeps:", &ns.hdr);
	waitsys(rport, &ns.hdr);
	show("after waitsys(rport, msg):", &ns.hdr);

	printf("7. Plugged: asynchronous reads held, then sent together in one system call.\n");
	struct sys_pread rd[3];
	char buf[3][16];
	int fd = open("/proc/self/exe", O_RDONLY), held = 0, back = 0;

	plugsys();
	for (i = 0; i < 3; i++) {
		prep_pread(&rd[i], fd, buf[i], sizeof(buf[i]), i * 16);
		prep_async(&rd[i].hdr, rport);
		held += sendsys(sysport(), &rd[i].hdr, sizeof(rd[i])) == EASYNC;
	}
	printf("  3 preads sent: %d said EASYNC, %s on the reply port yet\n", held,
	    getport(rport) == NULL ? "none" : "some");
	unplugsys();				/* here they go, all at once */
	for (i = 0; i < 3; i++)
		back += waitsys(rport, &rd[i].hdr) == 0;
	printf("  after unplugsys(): %d returned to the reply port\n", back);
	show("the first read:", &rd[0].hdr);
	close(fd);

	rmport(sport);
	rmport(rport);
	printf("Done: every message came back exactly once.\n");
	if (getenv("MSGPORT_TRACE") == NULL)
		printf("To watch each message's life, thread by thread:\n"
		    "  MSGPORT_TRACE=/tmp/tour.trace examples/tour/tour && "
		    "tools/msgport-timeline /tmp/tour.trace\n");
	return abort_result == ECANCELED && gp.hdr.ms_result == getpid() && back == 3 ? 0 : 1;
}
