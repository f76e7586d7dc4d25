/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpd-evhttp - the baseline for bench/httpd-bench.sh: the static-file
 * server a libevent user writes, of examples/httpd's shape.
 *
 * httpd-evhttp [-p PORT] [-t THREADS] ROOT: THREADS threads, each its own
 * event_base, evhttp and listening socket (SO_REUSEPORT) on 127.0.0.1;
 * GET and HEAD of the files below ROOT (`..` refused, a directory's
 * index.html), keep-alive as evhttp does it, the body by
 * evbuffer_add_file() (sendfile where libevent can).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

static int rootfd;

static void
on_request(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out;
	char *path, *p, full[8192];
	struct stat st;
	int fd;

	(void)arg;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	if ((p = strchr(uri, '?')) != NULL)
		*p = '\0';
	if ((path = evhttp_uridecode(uri, 0, NULL)) == NULL || strstr(path, "..") != NULL) {
		free(path);
		evhttp_send_error(req, 400, NULL);
		return;
	}
	for (p = path; *p == '/'; p++)
		continue;
	snprintf(full, sizeof(full), "%s", *p ? p : ".");
	free(path);
	if ((fd = openat(rootfd, full, O_RDONLY | O_CLOEXEC)) >= 0 && fstat(fd, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		close(fd);
		strncat(full, "/index.html", sizeof(full) - strlen(full) - 1);
		fd = openat(rootfd, full, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			fstat(fd, &st);
	}
	if (fd < 0) {
		evhttp_send_error(req, 404, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/octet-stream");
	out = evbuffer_new();
	if (cmd == EVHTTP_REQ_GET && st.st_size > 0)
		evbuffer_add_file(out, fd, 0, st.st_size);	/* takes the descriptor */
	else
		close(fd);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void *
serve(void *arg)
{
	struct event_base *base = arg;

	event_base_dispatch(base);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8081) };
	pthread_t t[64];
	int opt, n = 1, i, one = 1;

	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		if (opt == 'p')
			sin.sin_port = htons((uint16_t)atoi(optarg));
		else if (opt == 't')
			n = atoi(optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || n < 1 || n > 64 ||
	    (rootfd = open(argv[optind], O_PATH | O_DIRECTORY)) < 0) {
		fprintf(stderr, "usage: httpd-evhttp [-p PORT] [-t THREADS] ROOT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);		/* a client gone mid-reply is not our end */
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	for (i = 0; i < n; i++) {
		struct event_base *base = event_base_new();
		struct evhttp *http = evhttp_new(base);
		struct evconnlistener *l = evconnlistener_new_bind(base, NULL, NULL,
		    LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE, 1024,
		    (struct sockaddr *)&sin, sizeof(sin));

		if (l == NULL || evhttp_bind_listener(http, l) == NULL) {
			perror("httpd-evhttp: listen");
			return 1;
		}
		/* accepted sockets inherit it: no Nagle wait between header and body */
		setsockopt(evconnlistener_get_fd(l), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
		evhttp_set_gencb(http, on_request, NULL);
		pthread_create(&t[i], NULL, serve, base);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
