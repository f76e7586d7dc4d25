/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: examples/httpd over real loopback sockets and a generated
 * root: every status code, traversal and hostile requests, pipelining
 * and keep-alive, a reset mid-reply, the idle timeout, 500 parallel
 * connections checked byte for byte, accept paused and recovered when
 * out of descriptors; then the descriptors and messages in flight are
 * back where they started, and SIGINT stops it with every message back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

enum { BIG = 256 * 1024, MID = 64 * 1024, NPAR = 500 };

struct httpd {
	pid_t	pid;
	FILE	*out;		/* its standard output */
	int	port;
};

static char dir[64], root[80];
static char big[BIG];

static void
put(const char *name, const void *data, size_t len)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Start the server on an ephemeral port; nofile > 0: that descriptor limit. */
static void
start(struct httpd *h, int nofile, const char *threads, const char *idle)
{
	int pfd[2];
	char line[256];

	assert_int_equal(pipe(pfd), 0);
	assert_true((h->pid = fork()) >= 0);
	if (h->pid == 0) {
		struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };

		/* a failed assertion leaves no server behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		close(pfd[0]), close(pfd[1]);
		if (nofile > 0)
			setrlimit(RLIMIT_NOFILE, &rl);
		execl(TOP_BUILDDIR "/examples/httpd/httpd", "httpd", "-p", "0", "-t", threads,
		    "-i", idle, root, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	assert_non_null(h->out = fdopen(pfd[0], "r"));
	assert_non_null(fgets(line, sizeof(line), h->out));
	assert_non_null(strstr(line, "http://127.0.0.1:"));
	h->port = atoi(strstr(line, "127.0.0.1:") + 10);
	assert_true(h->port > 0);
}

/* SIGUSR1's line: descriptors, messages in flight, connections. */
static void
stats(struct httpd *h, int *fds, int *inflight, int *conns)
{
	char line[256];

	kill(h->pid, SIGUSR1);
	assert_non_null(fgets(line, sizeof(line), h->out));
	assert_int_equal(sscanf(line, "httpd: fds=%d inflight=%d connections=%d", fds, inflight,
	    conns), 3);
}

/* The statistics once every connection is gone: the server sees the
   last closes a moment after the client makes them. */
static void
settled(struct httpd *h, int *fds, int *inflight, int *conns)
{
	*conns = -1;
	for (int tries = 0; tries < 1000 && *conns != 0; tries++) {
		if (tries > 0)
			usleep(10000);
		stats(h, fds, inflight, conns);
	}
}

/* SIGINT: it exits 0, every message back. */
static void
stop(struct httpd *h)
{
	char line[256];
	int st, fds, inflight, conns;

	kill(h->pid, SIGINT);
	assert_non_null(fgets(line, sizeof(line), h->out));
	assert_int_equal(sscanf(line, "httpd: fds=%d inflight=%d connections=%d", &fds, &inflight,
	    &conns), 3);
	assert_int_equal(inflight, 0);
	assert_int_equal(conns, 0);
	assert_int_equal(waitpid(h->pid, &st, 0), h->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fclose(h->out);
}

static int
dial(struct httpd *h)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval ten = { 10, 0 };		/* a generous deadline: never a measure */
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof(ten));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
say(int fd, const char *req, size_t len)
{
	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * One reply: its status; its body (Content-Length of it, unless head)
 * into body, its length in *blen; the header lines into hdrs.
 */
static int
reply(int fd, int head, char *body, size_t *blen, char *hdrs, size_t hsize)
{
	char buf[4096];
	size_t n = 0, len;
	char *end, *cl;
	ssize_t r;
	int status;

	for (;;) {
		assert_true(n < sizeof(buf) - 1);
		r = recv(fd, buf + n, 1, 0);	/* byte by byte: the next reply stays queued */
		assert_int_equal(r, 1);
		n++;
		buf[n] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &status), 1);
	cl = strstr(buf, "Content-Length: ");
	len = cl ? strtoul(cl + 16, NULL, 10) : 0;
	if (hdrs != NULL)
		snprintf(hdrs, hsize, "%s", buf);
	if (head)
		len = 0;
	for (n = 0; n < len; n += (size_t)r)
		assert_true((r = recv(fd, body + n, len - n, MSG_WAITALL)) > 0);
	if (blen != NULL)
		*blen = len;
	return status;
}

/* A request on a new connection: its status. */
static int
get1(struct httpd *h, const char *req, char *body, size_t *blen)
{
	char scratch[BIG];
	int fd = dial(h), st;

	say(fd, req, strlen(req));
	st = reply(fd, strncmp(req, "HEAD", 4) == 0, body ? body : scratch, blen, NULL, 0);
	close(fd);
	return st;
}

#define H "HTTP/1.1\r\nHost: t\r\n"

static struct httpd srv;
static int fds0, inflight0;

static int
setup(void **state)
{
	char path[160];
	int c0;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 251);
	snprintf(dir, sizeof(dir), "/tmp/msgport-httpd-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/root", dir);
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/secret", dir);
	fclose(fopen(path, "w"));		/* outside the root: never served */
	put("a.txt", "hello\n", 6);
	put("big", big, BIG);
	put("mid", big, MID);
	snprintf(path, sizeof(path), "%s/d", root), mkdir(path, 0755);
	put("d/index.html", "<p>index</p>\n", 13);
	snprintf(path, sizeof(path), "%s/e", root), mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/out", root), symlink("../secret", path);
	snprintf(path, sizeof(path), "%s/etc", root), symlink("/etc", path);
	snprintf(path, sizeof(path), "%s/in", root), symlink("a.txt", path);
	start(&srv, 0, "2", "30000");
	/* warm up: what the library makes on first use is not a leak */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(get1(&srv, "GET /a.txt " H "\r\n", NULL, NULL), 200);
		assert_int_equal(get1(&srv, "GET /d/ " H "\r\n", NULL, NULL), 200);
	}
	settled(&srv, &fds0, &inflight0, &c0);
	assert_int_equal(c0, 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	stop(&srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void
test_status_codes(void **state)
{
	char body[BIG], hdrs[4096], req[10000];
	size_t len;
	int fd;

	(void)state;
	assert_int_equal(get1(&srv, "GET /a.txt " H "\r\n", body, &len), 200);
	assert_true(len == 6 && memcmp(body, "hello\n", 6) == 0);
	assert_int_equal(get1(&srv, "GET /d/ " H "\r\n", body, &len), 200);
	assert_true(len == 13 && memcmp(body, "<p>index</p>\n", 13) == 0);
	assert_int_equal(get1(&srv, "GET /in " H "\r\n", body, &len), 200);	/* inside: followed */
	assert_int_equal(get1(&srv, "HEAD /big " H "\r\n", body, &len), 200);
	assert_int_equal(len, 0);
	assert_int_equal(get1(&srv, "GET /a.txt " H "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n\r\n",
	    NULL, NULL), 304);
	assert_int_equal(get1(&srv, "GET /a.txt " H "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
	    NULL, NULL), 200);
	assert_int_equal(get1(&srv, "GET /a.txt HTTP/9.9\r\n\r\n", NULL, NULL), 400);
	assert_int_equal(get1(&srv, "GARBAGE\r\n\r\n", NULL, NULL), 400);
	assert_int_equal(get1(&srv, "GET /a.txt HTTP/1.1\r\n\r\n", NULL, NULL), 400);	/* no Host */
	assert_int_equal(get1(&srv, "GET /e/ " H "\r\n", NULL, NULL), 403);	/* no index.html */
	assert_int_equal(get1(&srv, "GET /nope " H "\r\n", NULL, NULL), 404);
	assert_int_equal(get1(&srv, "POST /a.txt " H "\r\n", NULL, NULL), 405);
	assert_int_equal(get1(&srv, "DELETE /a.txt " H "\r\n", NULL, NULL), 405);
	/* a body on GET: nothing here takes one */
	assert_int_equal(get1(&srv, "GET /a.txt " H "Content-Length: 5\r\n\r\nhello", NULL, NULL), 413);
	/* headers over the limit, whole or still coming */
	len = (size_t)snprintf(req, sizeof(req), "GET /a.txt " H "X-Pad: ");
	memset(req + len, 'x', 9000);
	strcpy(req + len + 9000, "\r\n\r\n");
	assert_int_equal(get1(&srv, req, NULL, NULL), 431);
	fd = dial(&srv);
	say(fd, req, 8500);
	assert_int_equal(reply(fd, 0, body, &len, hdrs, sizeof(hdrs)), 431);
	assert_non_null(strstr(hdrs, "Connection: close"));
	close(fd);
	/* the headers a user expects */
	fd = dial(&srv);
	say(fd, "GET /a.txt " H "\r\n", strlen("GET /a.txt " H "\r\n"));
	assert_int_equal(reply(fd, 0, body, &len, hdrs, sizeof(hdrs)), 200);
	assert_non_null(strstr(hdrs, "Content-Length: 6\r\n"));
	assert_non_null(strstr(hdrs, "Last-Modified: "));
	assert_non_null(strstr(hdrs, "Content-Type: text/plain\r\n"));
	close(fd);
}

static void
test_hostile(void **state)
{
	static const char *const refused[] = {
		"GET /../secret " H "\r\n",
		"GET /d/../../secret " H "\r\n",
		"GET /%2e%2e/secret " H "\r\n",
		"GET /%2E%2e%2fsecret " H "\r\n",
		"GET /d/%2e%2e/%2e%2e/secret " H "\r\n",
		"GET /a.txt%00.html " H "\r\n",
		"GET /%zz " H "\r\n",
		"GET secret " H "\r\n",
		"GET * " H "\r\n",
	};
	char body[BIG];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(get1(&srv, refused[i], NULL, NULL), 400);
	/* symlinks out of the root: refused (403), whatever their target */
	assert_int_equal(get1(&srv, "GET /out " H "\r\n", NULL, NULL), 403);
	assert_int_equal(get1(&srv, "GET /etc/passwd " H "\r\n", NULL, NULL), 403);
	/* an absolute URI: its path, below the root */
	assert_int_equal(get1(&srv, "GET http://t/a.txt " H "\r\n", body, &len), 200);
	assert_true(len == 6 && memcmp(body, "hello\n", 6) == 0);
	assert_int_equal(get1(&srv, "GET http://t/../secret " H "\r\n", NULL, NULL), 400);
	/* a NUL byte in the request */
	{
		static const char nul[] = "GET /a.txt HTTP/1.1\r\nHost: t\0x\r\n\r\n";
		int fd = dial(&srv);

		say(fd, nul, sizeof(nul) - 1);
		assert_int_equal(reply(fd, 0, body, &len, NULL, 0), 400);
		close(fd);
	}
}

static void
test_pipelining_keepalive(void **state)
{
	static const char three[] = "GET /a.txt " H "\r\nGET /mid " H "\r\nGET /nope " H "\r\n";
	char body[BIG];
	size_t len;
	int fd = dial(&srv);

	(void)state;
	say(fd, three, sizeof(three) - 1);		/* three at once: answered in order */
	assert_int_equal(reply(fd, 0, body, &len, NULL, 0), 200);
	assert_true(len == 6 && memcmp(body, "hello\n", 6) == 0);
	assert_int_equal(reply(fd, 0, body, &len, NULL, 0), 200);
	assert_true(len == MID && memcmp(body, big, MID) == 0);
	assert_int_equal(reply(fd, 0, body, &len, NULL, 0), 404);
	for (int i = 0; i < 20; i++) {			/* the same connection, again and again */
		say(fd, "GET /big " H "\r\n", strlen("GET /big " H "\r\n"));
		assert_int_equal(reply(fd, 0, body, &len, NULL, 0), 200);
		assert_true(len == BIG && memcmp(body, big, BIG) == 0);
	}
	/* HTTP/1.0 closes unless asked to keep it */
	say(fd, "GET /a.txt HTTP/1.0\r\n\r\n", 23);
	assert_int_equal(reply(fd, 0, body, &len, NULL, 0), 200);
	assert_int_equal(recv(fd, body, 1, 0), 0);
	close(fd);
}

static void
test_reset_midreply(void **state)
{
	struct linger rst = { 1, 0 };
	char body[BIG];
	size_t len;

	(void)state;
	for (int i = 0; i < 20; i++) {
		int fd = dial(&srv), small = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		say(fd, "GET /big " H "\r\nGET /big " H "\r\n", 2 * strlen("GET /big " H "\r\n"));
		recv(fd, body, 100, 0);			/* the reply has begun */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(fd);				/* RST */
	}
	/* a request cut off midway, then the client gone */
	{
		int fd = dial(&srv);

		say(fd, "GET /a.txt HTT", 14);
		close(fd);
	}
	assert_int_equal(get1(&srv, "GET /big " H "\r\n", body, &len), 200);
	assert_true(len == BIG && memcmp(body, big, BIG) == 0);
}

static void
test_parallel(void **state)
{
	static int fd[NPAR];
	static char body[MID];
	size_t len;

	(void)state;
	for (int i = 0; i < NPAR; i++) {
		fd[i] = dial(&srv);
		say(fd[i], "GET /mid " H "\r\n", strlen("GET /mid " H "\r\n"));
	}
	for (int i = 0; i < NPAR; i++) {
		memset(body, 0, sizeof(body));
		assert_int_equal(reply(fd[i], 0, body, &len, NULL, 0), 200);
		assert_true(len == MID && memcmp(body, big, MID) == 0);
		close(fd[i]);
	}
}

/* Last on the long-lived server: everything is back where it started. */
static void
test_no_leak(void **state)
{
	int fds, inflight, conns;

	(void)state;
	settled(&srv, &fds, &inflight, &conns);
	assert_int_equal(conns, 0);
	if (fds != fds0) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)srv.pid);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(fds, fds0);
	assert_int_equal(inflight, inflight0);
}

static void
test_idle_timeout(void **state)
{
	struct httpd h;
	char buf[16];
	int quiet, partial;

	(void)state;
	start(&h, 0, "1", "300");
	quiet = dial(&h);				/* says nothing */
	partial = dial(&h);				/* says half a request */
	say(partial, "GET /a.txt HTTP/1.1\r\nHo", 23);
	assert_int_equal(recv(quiet, buf, sizeof(buf), 0), 0);	/* closed by the server */
	assert_int_equal(recv(partial, buf, sizeof(buf), 0), 0);
	close(quiet), close(partial);
	assert_int_equal(get1(&h, "GET /a.txt " H "\r\n", NULL, NULL), 200);
	stop(&h);
}

/* More connections than descriptors: accept pauses, 500 for an open
   that finds none, and every connection is answered once others close;
   those accepted after the pause mostly with the file, since the server
   then keeps descriptors for files (at most half its connections). */
static void
test_out_of_descriptors(void **state)
{
	enum { N = 100 };
	struct httpd h;
	char body[BIG];
	int fd[N], ok = 0, err = 0, fds, inflight, conns, full;

	(void)state;
	start(&h, 48, "1", "30000");
	for (int i = 0; i < N; i++)
		fd[i] = dial(&h);
	/* wait until its table is full: it cannot even count it (-1) */
	for (int tries = 0; tries < 1000; tries++) {
		stats(&h, &fds, &inflight, &conns);
		if (fds < 0)
			break;
		usleep(10000);
	}
	assert_int_equal(fds, -1);
	full = conns;			/* these have no descriptor left for a file */
	assert_true(full >= 1 && full < N);
	for (int i = 0; i < N; i++)
		say(fd[i], "GET /a.txt " H "\r\n", strlen("GET /a.txt " H "\r\n"));
	for (int i = 0; i < N; i++) {
		int st = reply(fd[i], 0, body, NULL, NULL, 0);

		assert_true(st == 200 || st == 500);
		ok += st == 200, err += st == 500;
		close(fd[i]);
	}
	assert_true(err >= 1);
	assert_true(ok >= (N - full) / 2);
	assert_int_equal(get1(&h, "GET /a.txt " H "\r\n", NULL, NULL), 200);
	stop(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_codes),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_pipelining_keepalive),
		cmocka_unit_test(test_reset_midreply),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_no_leak),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_out_of_descriptors),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
