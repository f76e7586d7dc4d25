/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * async - chapter 2 of the guide: asynchronous sends.
 *
 * With MSGF_ASYNC, sendsys() does not wait: it says EASYNC, and the
 * message comes back later to its reply port.  Three requests go out
 * at once; their replies are collected three ways.
 */
#define _GNU_SOURCE		/* pthread_setname_np */
#include <pthread.h>

#include "msgport.h"
#include "guide.h"

enum { CMD_SQUARE = 1, CMD_STOP = 2 };
static const char *const cmd_names[] = { [CMD_SQUARE] = "square", [CMD_STOP] = "stop" };

struct square_msg {
	msg_t	hdr;
	long	x;
};

static void *
server(void *arg)
{
	msgport_t *port = arg;
	msg_t *m;

	for (;;) {
		waitsys(port, NULL);
		while ((m = getport(port)) != NULL) {
			if (m->ms_cmd == CMD_STOP) {
				replymsg(m, 0);
				return NULL;
			}
			m->ms_result = ((struct square_msg *)m)->x * ((struct square_msg *)m)->x;
			replymsg(m, 0);
		}
	}
}

int
main(void)
{
	msgport_t *port = mkport_queue(), *replies = mkport_queue();
	struct square_msg sq[3];
	msg_t stop, *m;
	pthread_t t;
	int i, easync = 0, back = 0;

	if (port == NULL || replies == NULL)
		return 1;
	portcmdnames(port, cmd_names, 3);
	pthread_create(&t, NULL, server, port);
	pthread_setname_np(t, "server");

	printf("async: three requests in flight at once\n");
	for (i = 0; i < 3; i++) {
		initmsg(&sq[i].hdr, CMD_SQUARE, MSGF_ASYNC, replies);
		sq[i].x = i + 2;
		easync += sendsys(port, &sq[i].hdr, sizeof(sq[i])) == EASYNC;
	}
	check(easync == 3, "each sendsys() said EASYNC: sent, not yet done");

	/* 1: wait for one message by itself; no port named */
	waitsys(NULL, &sq[0].hdr);
	check(sq[0].hdr.ms_result == 4, "waitsys(NULL, msg): 2 squared is 4");
	/* 2: wait for one message on its reply port */
	waitsys(replies, &sq[2].hdr);
	check(sq[2].hdr.ms_result == 16, "waitsys(port, msg): 4 squared is 16");
	/* 3: wait for anything on the port, then take what is there */
	waitsys(replies, NULL);
	while ((m = getport(replies)) != NULL)
		back += m == &sq[1].hdr && m->ms_result == 9;
	check(back == 1, "waitsys(port, NULL) + getport(): 3 squared is 9");
	check(!(msgflags(&sq[1].hdr) & MSGF_INFLIGHT), "a taken message is idle: ours again");

	initmsg(&stop, CMD_STOP, 0, NULL);
	sendsys(port, &stop, sizeof(stop));
	pthread_join(t, NULL);
	rmport(port);
	rmport(replies);
	return verdict("async");
}
