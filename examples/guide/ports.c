/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ports - chapter 1 of the guide: a message, a port, a server.
 *
 * A message is a header (msg_t) followed by the command's own fields.
 * A port is where messages go.  Here a server thread owns a queue port
 * and answers two commands; main() sends it messages synchronously:
 * sendsys() returns once the server has replied.
 */
#define _GNU_SOURCE		/* pthread_setname_np */
#include <errno.h>
#include <pthread.h>

#include "msgport.h"
#include "guide.h"

enum { CMD_ADD = 1, CMD_STOP = 2 };

/* The names the trace shows for our commands (chapter 1's picture). */
static const char *const cmd_names[] = { [CMD_ADD] = "add", [CMD_STOP] = "stop" };

struct add_msg {
	msg_t	hdr;		/* always first */
	long	a, b;		/* the request */
};

/* Take each request off the port, do it, reply. */
static void *
server(void *arg)
{
	msgport_t *port = arg;
	msg_t *m;

	for (;;) {
		waitsys(port, NULL);			/* sleep until something is there */
		while ((m = getport(port)) != NULL) {
			if (m->ms_cmd == CMD_STOP) {
				replymsg(m, 0);
				return NULL;
			}
			if (m->ms_cmd != CMD_ADD) {
				replymsg(m, ENOSYS);	/* a command we do not know */
				continue;
			}
			struct add_msg *add = (struct add_msg *)m;

			m->ms_result = add->a + add->b;	/* the answer travels in the header */
			replymsg(m, 0);
		}
	}
}

int
main(void)
{
	msgport_t *port = mkport_queue();
	struct add_msg add;
	msg_t stop, odd;
	pthread_t t;
	int r;

	if (port == NULL)
		return 1;
	portcmdnames(port, cmd_names, 3);
	pthread_create(&t, NULL, server, port);
	pthread_setname_np(t, "server");

	printf("ports: a synchronous request and its reply\n");
	initmsg(&add.hdr, CMD_ADD, 0, NULL);	/* synchronous: no reply port needed */
	add.a = 40;
	add.b = 2;
	r = sendsys(port, &add.hdr, sizeof(add));
	check(r == 0, "sendsys() returned 0: the server replied without error");
	check(add.hdr.ms_result == 42, "the result is 40 + 2 = 42");

	initmsg(&odd, 99, 0, NULL);		/* a command the server does not know */
	r = sendsys(port, &odd, sizeof(odd));
	check(r == ENOSYS, "an unknown command comes back with ENOSYS");

	initmsg(&stop, CMD_STOP, 0, NULL);
	check(sendsys(port, &stop, sizeof(stop)) == 0, "the server stops when asked");
	pthread_join(t, NULL);
	rmport(port);
	return verdict("ports");
}
