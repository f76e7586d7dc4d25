/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpd - a static-file HTTP/1.1 server whose every system call is a message.
 *
 * httpd [-p PORT] [-a ADDR] [-t THREADS] [-i MS] [-P] ROOT serves the
 * files below ROOT to GET and HEAD, with keep-alive and pipelining, on
 * ADDR (127.0.0.1 by default) port PORT (8080; 0: any free one, which
 * the first line printed names).  Each of the THREADS threads has its own
 * listening socket (SO_REUSEPORT: the kernel spreads the connections) and
 * its own reply port; accept4, recv, send, sendfile, openat2, fstat and
 * close are messages to the system port.  The asynchronous ones finish in
 * place when the socket is ready and come back to the thread's port from
 * the library's event loop when not; a thread never blocks but in
 * waitsys().  -P plugs each batch of replies (plugsys(3)): the sends and
 * receives a batch starts go to the kernel in one system call.
 *
 * A connection has one message in flight at a time, so its replies go out
 * in the order its requests came.  Paths are percent-decoded, and `..`
 * refused; the file is opened with openat2(RESOLVE_BENEATH), so no path
 * and no symlink leads out of ROOT.  A request over 8 KiB is answered
 * 431, one with a body 413 (nothing here takes one).  A connection idle
 * for MS milliseconds (30000) without a whole request, or without taking
 * any of its reply, is closed.  Out of descriptors (accept4 fails with
 * EMFILE or ENFILE), a thread serves at most half the connections it had
 * then, since each may need a second descriptor for its file, and raises
 * that ceiling by an eighth on every tick it waits at it (halving it
 * again at the next EMFILE): a connection accepted later finds a
 * descriptor for its file, where taking every descriptor a close frees
 * would answer each new connection 500.
 *
 * SIGUSR1 prints `httpd: fds=N inflight=M connections=C`: the process's
 * open descriptors, the threads' messages in flight (two per thread when
 * idle: its accept and its timer) and the open connections.  SIGINT or
 * SIGTERM stops it: every message comes back (aborted), every descriptor
 * is closed, the same line is printed, and sysport_stop() ends the rest.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <msgport.h>
#include <msgport-sys.h>

#include "../cli.h"

enum { INBUF = 8192, HDRBUF = 1024, TICK_MS = 100, MAXTHREADS = 64 };
enum { C_RECV, C_OPEN, C_SEND, C_FILE };	/* what a connection's message does */

struct server {					/* one thread */
	pthread_t	thread;
	msgport_t	*port;			/* its replies, and main's stop message */
	int		lfd;			/* its listening socket */
	struct sys_accept4 accept;
	struct sys_timer tick;			/* every TICK_MS: idle connections, paused accept */
	unsigned long	now;			/* ticks so far */
	int		paused;			/* not accepting: out of descriptors, or at ceiling */
	int		ceiling;		/* most connections after EMFILE; 0: no limit */
	int		accepting;		/* accept is in flight, or being handed on */
	int		stopping;
	int		inflight, nconns;	/* read by main for the statistics */
	struct conn	*oldest, *newest;	/* the connections, least recently active first */
};

struct conn {
	union {					/* the one message in flight */
		msg_t			hdr;
		struct sys_recvfrom	recv;
		struct sys_sendto	send;
		struct sys_sendfile	file;
		struct sys_syscall	open;
	} m;
	struct server	*srv;
	struct conn	*prev, *next;
	int		fd, file;		/* the socket, the file being sent (-1: none) */
	int		state, busy;		/* busy: its message will come back to the port */
	int		keep, expired, index;
	unsigned long	touched;		/* the tick of its last progress */
	off_t		off, end;		/* the part of the file still to send */
	struct open_how	how;
	size_t		inlen, reqlen;		/* bytes in in[]; the request being answered */
	size_t		hdrlen, hdroff;		/* the reply's header, and how much went */
	char		path[INBUF + 16];
	char		in[INBUF];
	char		hdr[HDRBUF];
};

static struct server servers[MAXTHREADS];
static int nthreads = 1, rootfd, plug;
static unsigned long idle_ticks = 30000 / TICK_MS;
static pthread_barrier_t ready;		/* every thread accepting: then it says it serves */

/* A synchronous message: runs in this thread.  The call's value, or -1 with errno. */
static long
sys(msg_t *m, size_t size)
{
	int r = sendsys(sysport(), m, size);

	if (r != 0)
		return errno = r, -1;
	return (long)m->ms_result;
}

static void
sys_close(int fd)
{
	struct sys_close m;

	prep_close(&m, fd);
	sys(&m.hdr, sizeof(m));
}

static void
count(int *counter, int by)
{
	__atomic_add_fetch(counter, by, __ATOMIC_RELAXED);
}

/* The connection made progress: to the end of the list, the newest. */
static void
touch(struct conn *c)
{
	struct server *s = c->srv;

	c->touched = s->now;
	if (s->newest == c)
		return;
	if (c->prev != NULL || s->oldest == c) {	/* unlink it */
		*(c->prev ? &c->prev->next : &s->oldest) = c->next;
		*(c->next ? &c->next->prev : &s->newest) = c->prev;
	}
	c->next = NULL;
	c->prev = s->newest;
	*(s->newest ? &s->newest->next : &s->oldest) = c;
	s->newest = c;
}

static void start_accept(struct server *s);

static void
close_conn(struct conn *c)
{
	struct server *s = c->srv;

	if (c->file >= 0)
		sys_close(c->file);
	sys_close(c->fd);
	*(c->prev ? &c->prev->next : &s->oldest) = c->next;
	*(c->next ? &c->next->prev : &s->newest) = c->prev;
	free(c);
	count(&s->nconns, -1);
	if (s->paused && !s->stopping && s->nconns < s->ceiling)	/* room again */
		start_accept(s);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

static const char *
content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0 || strcmp(dot, ".htm") == 0)
		return "text/html";
	if (strcmp(dot, ".txt") == 0)
		return "text/plain";
	if (strcmp(dot, ".css") == 0)
		return "text/css";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript";
	return "application/octet-stream";
}

/* The header's first part: status line, Server, Connection. */
static int
status_line(struct conn *c, int status)
{
	return snprintf(c->hdr, HDRBUF, "HTTP/1.1 %d %s\r\nServer: msgport-httpd\r\n%s",
	    status, reason(status), c->keep ? "" : "Connection: close\r\n");
}

/* A reply without a file: the status as a line of text.  Errors past 404
   close the connection: what follows the request cannot be trusted. */
static size_t
reply(struct conn *c, int status, int head)
{
	int n;

	if (status >= 400 && status != 403 && status != 404)
		c->keep = 0;
	n = status_line(c, status);
	if (status == 304)
		n += snprintf(c->hdr + n, HDRBUF - n, "\r\n");
	else
		n += snprintf(c->hdr + n, HDRBUF - n, "%sContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\n\r\n%d %s\n", status == 405 ? "Allow: GET, HEAD\r\n" : "",
		    strlen(reason(status)) + 5, status, reason(status));
	if (head && status != 304)	/* the length of the body not sent */
		n = (int)(strstr(c->hdr, "\r\n\r\n") + 4 - c->hdr);
	c->hdrlen = (size_t)n, c->hdroff = 0;
	c->off = c->end = 0;
	c->state = C_SEND;
	prep_send(&c->m.send, c->fd, c->hdr, c->hdrlen, MSG_NOSIGNAL);
	return sizeof(c->m.send);
}

/* Percent-decode the path into c->path, refusing NUL, bad escapes and
   `..` segments; leading slashes go (it is opened relative to ROOT). */
static int
decode(struct conn *c, const char *p, const char *end)
{
	char *out = c->path, *seg = c->path;

	while (p < end && *p == '/')
		p++;
	for (; p < end && *p != '?' && *p != '#'; p++) {
		char ch = *p;

		if (ch == '%') {
			unsigned v;

			if (end - p < 3 || !isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]) || sscanf(p + 1, "%2x", &v) != 1 || v == 0)
				return -1;
			ch = (char)v, p += 2;
		}
		if (ch == '/') {
			if (out - seg == 2 && seg[0] == '.' && seg[1] == '.')
				return -1;
			seg = out + 1;
		}
		*out++ = ch;
	}
	if (out - seg == 2 && seg[0] == '.' && seg[1] == '.')
		return -1;
	if (out == c->path)
		*out++ = '.';
	*out = '\0';
	return 0;
}

/* The value of header NAME in the request's header lines, or NULL. */
static const char *
header(const char *lines, const char *end, const char *name, size_t *len)
{
	size_t n = strlen(name);

	for (const char *l = lines, *eol; l < end; l = eol + 2) {
		if ((eol = strstr(l, "\r\n")) == NULL)
			eol = end;		/* the last line: the string ends there */

		if ((size_t)(eol - l) > n && strncasecmp(l, name, n) == 0 && l[n] == ':') {
			for (l += n + 1; *l == ' ' || *l == '\t'; l++)
				continue;
			*len = (size_t)(eol - l);
			return l;
		}
	}
	return NULL;
}

static size_t opened(struct conn *c, long fd, int error);

static size_t
open_path(struct conn *c)
{
	long fd;

	/* Tried in place if the path is cached; else a worker opens it. */
	c->how = (struct open_how){ .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_CACHED };
	prep_syscall(&c->m.open, SYS_openat2, rootfd, (long)c->path, (long)&c->how,
	    sizeof(c->how), 0, 0);
	if ((fd = sys(&c->m.hdr, sizeof(c->m.open))) >= 0 || errno != EAGAIN)
		return opened(c, fd, fd < 0 ? errno : 0);
	c->how.resolve &= ~(unsigned long long)RESOLVE_CACHED;
	prep_syscall(&c->m.open, SYS_openat2, rootfd, (long)c->path, (long)&c->how,
	    sizeof(c->how), 0, 0);
	c->state = C_OPEN;
	return sizeof(c->m.open);
}

/*
 * respond
 *	The next request in c->in: its reply's first message, or a receive
 *	for more of it.  Returns the message's size.
 */
static size_t
respond(struct conn *c)
{
	char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4), *sp1, *sp2, *target, *eol;
	const char *v;
	size_t len;
	int head, minor;

	if (end == NULL) {
		if (c->inlen == INBUF)
			return c->reqlen = c->inlen, c->keep = 0, reply(c, 431, 0);
		c->state = C_RECV;
		prep_recv(&c->m.recv, c->fd, c->in + c->inlen, INBUF - c->inlen, 0);
		return sizeof(c->m.recv);
	}
	c->reqlen = (size_t)(end + 4 - c->in);
	c->keep = 0;
	if (memchr(c->in, '\0', c->reqlen) != NULL)
		return reply(c, 400, 0);
	*end = '\0';				/* the headers are a string now */
	eol = strstr(c->in, "\r\n");
	eol = eol ? eol : end;
	sp1 = memchr(c->in, ' ', (size_t)(eol - c->in));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (sp2 == NULL || eol - sp2 != 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return reply(c, 400, 0);
	minor = sp2[8] - '0';
	head = sp1 - c->in == 4 && strncmp(c->in, "HEAD", 4) == 0;
	v = header(eol + 2, end, "Connection", &len);
	c->keep = minor == 1 ? !(v && len == 5 && strncasecmp(v, "close", 5) == 0) :
	    v && len == 10 && strncasecmp(v, "keep-alive", 10) == 0;
	if (!head && !(sp1 - c->in == 3 && strncmp(c->in, "GET", 3) == 0))
		return reply(c, 405, 0);
	if (header(eol + 2, end, "Transfer-Encoding", &len) != NULL ||
	    ((v = header(eol + 2, end, "Content-Length", &len)) != NULL && strtoul(v, NULL, 10) != 0))
		return reply(c, 413, head);
	if (minor == 1 && header(eol + 2, end, "Host", &len) == NULL)
		return reply(c, 400, head);
	target = sp1 + 1;
	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		/* the absolute form: only its path counts */
		target = memchr(strstr(target, "//") + 2, '/', (size_t)(sp2 - target));
		target = target && target < sp2 ? target : sp2;
	} else if (*target != '/') {
		return reply(c, 400, head);
	}
	if (decode(c, target, sp2) != 0)
		return reply(c, 400, head);
	c->index = 0;
	c->hdr[0] = (char)head;			/* remembered until the header is built */
	return open_path(c);
}

/* The file is open (or not): its header, or the error's reply. */
static size_t
opened(struct conn *c, long fd, int error)
{
	int head = c->hdr[0], n;
	struct sys_fstat fs;
	struct stat st;
	struct tm tm;
	const char *v, *end = c->in + c->reqlen - 4, *lines = strstr(c->in, "\r\n");
	size_t len;

	lines = lines ? lines + 2 : end;	/* no header lines: HTTP/1.0 may send none */

	if (fd < 0) {
		if (c->index && error == ENOENT)
			return reply(c, 403, head);	/* a directory without index.html */
		if (error == ENOENT || error == ENOTDIR || error == ENAMETOOLONG)
			return reply(c, 404, head);
		if (error == EXDEV || error == EACCES || error == EPERM || error == ELOOP)
			return reply(c, 403, head);	/* EXDEV: it leads out of ROOT */
		return reply(c, 500, head);
	}
	c->file = (int)fd;
	prep_fstat(&fs, c->file, &st);
	if (sys(&fs.hdr, sizeof(fs)) != 0)
		return reply(c, 500, head);
	if (S_ISDIR(st.st_mode) && !c->index) {
		sys_close(c->file);
		c->file = -1;
		c->index = 1;
		strcat(c->path, "/index.html");
		return open_path(c);
	}
	if (!S_ISREG(st.st_mode))
		return reply(c, 403, head);
	if ((v = header(lines, end, "If-Modified-Since", &len)) != NULL) {
		struct tm since = { 0 };
		const char *rest = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &since);

		if (rest != NULL && st.st_mtime <= timegm(&since)) {
			sys_close(c->file);
			c->file = -1;
			return reply(c, 304, head);
		}
	}
	n = status_line(c, 200);
	n += snprintf(c->hdr + n, HDRBUF - n, "Content-Type: %s\r\nContent-Length: %lld\r\n",
	    content_type(c->path), (long long)st.st_size);
	n += (int)strftime(c->hdr + n, HDRBUF - n, "Last-Modified: %a, %d %b %Y %H:%M:%S GMT\r\n\r\n",
	    gmtime_r(&st.st_mtime, &tm));
	c->hdrlen = (size_t)n, c->hdroff = 0;
	c->off = 0, c->end = head ? 0 : st.st_size;
	c->state = C_SEND;
	prep_send(&c->m.send, c->fd, c->hdr, c->hdrlen, MSG_NOSIGNAL | (c->end ? MSG_MORE : 0));
	return sizeof(c->m.send);
}

/* The reply went out whole: the next request, or the end. */
static size_t
replied(struct conn *c)
{
	if (c->file >= 0)
		sys_close(c->file);
	c->file = -1;
	if (!c->keep)
		return 0;
	c->inlen -= c->reqlen;
	memmove(c->in, c->in + c->reqlen, c->inlen);
	touch(c);				/* a new request's time starts */
	return respond(c);
}

/*
 * advance
 *	The connection's message is done: the next one to send (its size),
 *	or 0 when the connection is over.
 */
static size_t
advance(struct conn *c)
{
	msg_t *m = &c->m.hdr;

	if (c->state == C_OPEN)
		return opened(c, m->ms_error ? -1 : (long)m->ms_result, m->ms_error);
	if (m->ms_error != 0 || c->expired || c->srv->stopping)
		return 0;
	switch (c->state) {
	case C_RECV:
		if (m->ms_result == 0)		/* the client is done */
			return 0;
		c->inlen += (size_t)m->ms_result;
		return respond(c);
	case C_SEND:
		c->hdroff += (size_t)m->ms_result;
		touch(c);
		if (c->hdroff < c->hdrlen) {
			prep_send(&c->m.send, c->fd, c->hdr + c->hdroff, c->hdrlen - c->hdroff,
			    MSG_NOSIGNAL | (c->end ? MSG_MORE : 0));
			return sizeof(c->m.send);
		}
		break;
	case C_FILE:				/* sendfile moved c->off along */
		if (m->ms_result == 0)		/* the file was cut short */
			return 0;
		touch(c);
		break;
	}
	if (c->off < c->end) {
		c->state = C_FILE;
		prep_sendfile(&c->m.file, c->fd, c->file, &c->off, (size_t)(c->end - c->off));
		return sizeof(c->m.file);
	}
	return replied(c);
}

/* Send the connection's messages while they finish in place. */
static void
run(struct conn *c, size_t size)
{
	while (size > 0) {
		prep_async(&c->m.hdr, c->srv->port);
		c->m.hdr.ms_cookie = c;
		if (sendsys(sysport(), &c->m.hdr, size) == EASYNC) {
			c->busy = 1;
			count(&c->srv->inflight, 1);
			return;
		}
		size = advance(c);
	}
	close_conn(c);
}

static void
accepted(struct server *s, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		sys_close(fd);
		return;
	}
	c->srv = s, c->fd = fd, c->file = -1;
	count(&s->nconns, 1);
	touch(c);
	run(c, respond(c));
}

/*
 * The accept message counts as in flight from its send until the thread
 * decides not to send it again, and not while it is handed from one
 * accept4 to the next: the statistics then never show an idle thread
 * one message short.
 */
static void
accept_out(struct server *s, int out)
{
	if (s->accepting != out) {
		s->accepting = out;
		count(&s->inflight, out ? 1 : -1);
	}
}

/* Out of descriptors: stop accepting, and serve half the connections. */
static void
out_of_descriptors(struct server *s)
{
	s->paused = 1;
	s->ceiling = s->nconns > 1 ? s->nconns / 2 : 1;
	accept_out(s, 0);
}

/* Accept while connections are there; the last accept4 waits in the loop. */
static void
start_accept(struct server *s)
{
	int r;

	s->paused = 0;
	for (;;) {
		if (s->ceiling > 0 && s->nconns >= s->ceiling) {
			s->paused = 1;		/* a close or the next tick tries again */
			accept_out(s, 0);
			return;
		}
		prep_accept4(&s->accept, s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		prep_async(&s->accept.hdr, s->port);
		if ((r = sendsys(sysport(), &s->accept.hdr, sizeof(s->accept))) == EASYNC) {
			accept_out(s, 1);
			return;
		}
		if (r == EMFILE || r == ENFILE || r == ENOBUFS || r == ENOMEM) {
			out_of_descriptors(s);
			return;
		}
		if (r == 0)
			accepted(s, (int)s->accept.hdr.ms_result);
	}
}

/* Every tick: give up on connections idle too long; try a paused accept. */
static void
ticked(struct server *s, uint64_t ticks)
{
	s->now += ticks;
	for (struct conn *c = s->oldest; c != NULL && s->now - c->touched >= idle_ticks; c = c->next)
		if (c->busy && c->state != C_OPEN && !c->expired) {
			c->expired = 1;
			abortsys(&c->m.hdr);	/* it comes back ECANCELED (or done) */
		}
	if (!s->paused || s->stopping)
		return;
	if (s->ceiling > 0 && s->nconns >= s->ceiling)
		s->ceiling += s->ceiling / 8 + 1;	/* probe: descriptors may be free now */
	start_accept(s);
}

static void
stop(struct server *s)
{
	s->stopping = 1;
	if (!s->paused)
		abortsys(&s->accept.hdr);
	abortsys(&s->tick.hdr);
	for (struct conn *c = s->oldest; c != NULL; c = c->next)
		if (c->busy && c->state != C_OPEN)
			abortsys(&c->m.hdr);
}

static void *
serve(void *arg)
{
	struct server *s = arg;
	struct timespec period = { 0, TICK_MS * 1000000L };
	msg_t *m;

	prep_timer(&s->tick, CLOCK_MONOTONIC, 0, &period, &period, s->port);
	if (sendsys(sysport(), &s->tick.hdr, sizeof(s->tick)) == EASYNC)
		count(&s->inflight, 1);
	start_accept(s);
	pthread_barrier_wait(&ready);
	while (!s->stopping || __atomic_load_n(&s->inflight, __ATOMIC_RELAXED) > 0) {
		waitsys(s->port, NULL);
		if (plug)
			plugsys();
		while ((m = getport(s->port)) != NULL) {
			if (m->ms_cookie != NULL) {		/* a connection's */
				struct conn *c = m->ms_cookie;

				c->busy = 0;
				count(&s->inflight, -1);
				run(c, advance(c));
			} else if (m == &s->accept.hdr) {
				if (m->ms_error == 0)
					accepted(s, (int)m->ms_result);
				if (s->stopping)
					accept_out(s, 0);
				else if (m->ms_error == EMFILE || m->ms_error == ENFILE)
					out_of_descriptors(s);
				else
					start_accept(s);
			} else if (m == &s->tick.hdr) {
				if (msgflags(m) & MSGF_FINAL) {
					count(&s->inflight, -1);
					continue;
				}
				ticked(s, m->ms_count);
				rearmsys(m);
			} else {				/* main's stop */
				replymsg(m, 0);
				stop(s);
			}
		}
		if (plug)
			unplugsys();
	}
	return NULL;
}

/* The process's open descriptors: the entries of /proc/self/fd, but its own. */
static int
count_fds(void)
{
	struct sys_openat o;
	struct sys_getdents64 g;
	char buf[8192];
	long fd, n, pos;
	int fds = -1;

	prep_open(&o, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if ((fd = sys(&o.hdr, sizeof(o))) < 0)
		return -1;
	for (;;) {
		prep_getdents64(&g, (int)fd, buf, sizeof(buf));
		if ((n = sys(&g.hdr, sizeof(g))) <= 0)
			break;
		for (pos = 0; pos < n; pos += ((struct dirent64 *)(buf + pos))->d_reclen)
			if (((struct dirent64 *)(buf + pos))->d_name[0] != '.')
				fds++;
	}
	sys_close((int)fd);
	return fds;
}

static void
print_stats(void)
{
	int inflight = 0, conns = 0;

	for (int i = 0; i < nthreads; i++) {
		inflight += __atomic_load_n(&servers[i].inflight, __ATOMIC_RELAXED);
		conns += __atomic_load_n(&servers[i].nconns, __ATOMIC_RELAXED);
	}
	printf("httpd: fds=%d inflight=%d connections=%d\n", count_fds(), inflight, conns);
	fflush(stdout);
}

/* A listening socket on addr: SO_REUSEPORT, so every thread has one. */
static int
listen_on(struct sockaddr_in *addr)
{
	struct sys_socket so;
	struct sys_syscall opt;
	struct sys_bind b;
	struct sys_listen l;
	socklen_t len = sizeof(*addr);
	int one = 1;
	long fd;

	prep_socket(&so, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if ((fd = sys(&so.hdr, sizeof(so))) < 0)
		return -1;
	prep_syscall(&opt, SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, (long)&one, sizeof(one), 0);
	sys(&opt.hdr, sizeof(opt));
	prep_syscall(&opt, SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEPORT, (long)&one, sizeof(one), 0);
	prep_bind(&b, (int)fd, (struct sockaddr *)addr, sizeof(*addr));
	prep_listen(&l, (int)fd, 1024);
	if (sys(&opt.hdr, sizeof(opt)) < 0 || sys(&b.hdr, sizeof(b)) < 0 || sys(&l.hdr, sizeof(l)) < 0)
		return sys_close((int)fd), -1;
	/* port 0: the others bind the one the kernel chose */
	prep_syscall(&opt, SYS_getsockname, fd, (long)addr, (long)&len, 0, 0, 0);
	sys(&opt.hdr, sizeof(opt));
	return (int)fd;
}

int
main(int argc, char **argv)
{
	static struct sys_signal sigs[3];
	static const int signos[3] = { SIGINT, SIGTERM, SIGUSR1 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct sys_openat o;
	msgport_t *port;
	msg_t stopmsg[MAXTHREADS], *m;
	struct timespec tick = { 0, 100 * 1000000L };
	const char *host = "127.0.0.1";
	int opt, i, running = 1;

	cli_prog = "httpd";
	cli_usage = "[-p PORT] [-a ADDR] [-t THREADS] [-i MS] [-P] ROOT";
	cli_help = "Serve the files below ROOT over HTTP/1.1, every system call a message.\n"
	    "  -p PORT     the port (default 8080; 0: any free one)\n"
	    "  -a ADDR     the IPv4 address to listen on (default 127.0.0.1)\n"
	    "  -t THREADS  threads, each with its own socket and reply port (1 to 64, default 1)\n"
	    "  -i MS       close connections idle this many milliseconds (default 30000)\n"
	    "  -P          plug each batch of replies: its sends in one system call\n"
	    "SIGUSR1 prints the open descriptors, messages in flight and connections.\n";
	while ((opt = cli_getopt(argc, argv, "a:i:p:Pt:")) != -1) {
		if (opt == 'p')
			addr.sin_port = htons((uint16_t)cli_number(opt, optarg, 0, 65535));
		else if (opt == 't')
			nthreads = (int)cli_number(opt, optarg, 1, MAXTHREADS);
		else if (opt == 'i')
			idle_ticks = (unsigned long)cli_number(opt, optarg, TICK_MS, 86400000) / TICK_MS;
		else if (opt == 'P')
			plug = 1;
		else
			host = optarg;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: %s\n", cli_prog, optind < argc ? "one ROOT only" : "no ROOT");
		cli_usage_exit(2);
	}
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "%s: -a: '%s' is not an IPv4 address\n", cli_prog, host);
		cli_usage_exit(2);
	}
	/* sendfile(2) has no MSG_NOSIGNAL: a client gone mid-reply must be an
	   EPIPE, not the end of the server */
	signal(SIGPIPE, SIG_IGN);
	if ((port = mkport_queue()) == NULL) {
		fprintf(stderr, "%s: cannot start the system port: %s\n", cli_prog, strerror(errno));
		return 1;
	}
	prep_open(&o, argv[optind], O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if ((rootfd = (int)sys(&o.hdr, sizeof(o))) < 0) {
		fprintf(stderr, "%s: cannot open '%s': %s\n", cli_prog, argv[optind], strerror(errno));
		return 1;
	}
	for (i = 0; i < nthreads; i++)
		if ((servers[i].lfd = listen_on(&addr)) < 0 ||
		    (servers[i].port = mkport_queue()) == NULL) {
			fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", cli_prog, host,
			    ntohs(addr.sin_port), strerror(errno));
			return 1;
		}
	for (i = 0; i < 3; i++) {		/* the signals, as messages to main's port */
		prep_signal(&sigs[i], signos[i], port);
		sendsys(sysport(), &sigs[i].hdr, sizeof(sigs[i]));
	}
	pthread_barrier_init(&ready, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++)
		pthread_create(&servers[i].thread, NULL, serve, &servers[i]);
	pthread_barrier_wait(&ready);
	printf("httpd: serving %s on http://%s:%d/ with %d thread%s\n", argv[optind], host,
	    ntohs(addr.sin_port), nthreads, nthreads > 1 ? "s" : "");
	fflush(stdout);

	while (running) {
		/* a timeout now and then costs nothing, and lets a sanitizer
		   that defers signals to library calls deliver them */
		if (timedwaitsys(port, NULL, &tick) != 0)
			continue;
		while ((m = getport(port)) != NULL) {
			if (m == &sigs[2].hdr) {
				print_stats();
				rearmsys(m);
			} else {
				running = 0;	/* SIGINT, SIGTERM */
			}
		}
	}
	for (i = 0; i < nthreads; i++) {	/* each thread gets back all its messages */
		initmsg(&stopmsg[i], 1, MSGF_ASYNC, port);
		sendsys(servers[i].port, &stopmsg[i], sizeof(stopmsg[i]));
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(servers[i].thread, NULL);
		sys_close(servers[i].lfd);
		rmport(servers[i].port);
	}
	print_stats();
	sysport_stop();				/* the signal messages come back too */
	rmport(port);
	return 0;
}
