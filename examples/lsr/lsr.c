/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lsr - `ls -lR` where every lstat() is a message.
 *
 * lsr [-j N] [DIR]...  prints what its synchronous twin lsr-sync prints,
 * to the byte: for each directory (by default .) a "PATH:" line, one line
 * per entry in readdir order (mode, links, size, name), a blank line,
 * then its subdirectories the same way.
 *
 * The walk runs ahead of the printing: directories are opened, read and
 * their entries lstat'ed (16 names per fstatatv message) as asynchronous
 * messages, many at once, and a directory is printed as soon as it and
 * everything before it is complete.  Replies come back in any order, so
 * directories are opened in the order they are listed, and replies are
 * taken as soon as they are back: the walk stays about a window ahead
 * of the printer and holds little more.  As in du, the system port
 * decides whether each call runs in place or on its workers, and each directory
 * is opened relative to its parent's descriptor (kept open until its
 * subdirectories are), so paths longer than PATH_MAX are listed too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgport.h>
#include <msgport-sys.h>

#include "lsr-format.h"

enum { OPEN, LIST, STAT };
enum { CHUNK = 16 };			/* names lstat'ed per message */

struct entry {
	char		*name;
	char		*target;	/* symlinks */
	struct dir	*sub;		/* a subdirectory: the one to list */
	struct stat	st;
	int		error;
};

struct dir {
	char		*path;
	struct dir	*parent;	/* opened relative to its fd; NULL: a root */
	size_t		level, index;	/* its depth, its entry's place in parent->ents */
	int		fd, error;
	int		kids;		/* subdirectories not opened yet */
	int		out;		/* messages in flight about it */
	int		eof;
	long		pos, len;	/* the part of buf not yet asked about */
	struct entry	*ents;
	size_t		nents, cap;
	struct dir	**subs;		/* subdirectories, in listing order, once complete */
	size_t		nsubs, capsubs, printed;	/* printed: subs already walked by the printer */
	int		shown;
	struct dir	*next;		/* on the stack of directories with something to ask */
	char		*buf;		/* while open: its getdents64 buffer */
};

enum { BUFSIZE = 32768 };

struct op {
	union {
		msg_t			hdr;
		struct sys_openat	open;
		struct sys_getdents64	list;
		struct sys_fstatatv	stat;
	} m;
	int		kind;
	struct dir	*dir;
	size_t		ent;		/* STAT: the first entry asked about */
	struct op	*next;
	const char	*names[CHUNK];
	struct stat	st[CHUNK];	/* here, not in d->ents, which may move */
	int		errs[CHUNK];
};

static msgport_t *replies;
static struct op *freeops;
static struct dir *ready;		/* open directories with something to ask */
static struct dir **toopen;		/* to open: a heap, the first in listing order on top */
static size_t ntoopen, captoopen;
static int inflight, window, failed;

/* Listing buffers: only open directories need one, and they are reused. */
static char *spare;

static char *
getbuf(void)
{
	char *b = spare;

	if (b == NULL)
		return malloc(BUFSIZE);
	spare = *(char **)b;
	return b;
}

static void
putbuf(char *b)
{
	*(char **)b = spare;
	spare = b;
}

static void *
grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	return realloc(v, *cap * size);
}

static struct dir *
newdir(char *path, struct dir *parent, size_t index)
{
	struct dir *d = malloc(sizeof(*d));

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->parent = parent;
	d->level = parent ? parent->level + 1 : 0;
	d->index = index;
	d->fd = -1;
	return d;
}

/* Is a listed before b?  (A directory is listed before what is below it.) */
static int
before(const struct dir *a, const struct dir *b)
{
	while (a->level > b->level)
		if ((a = a->parent) == b)
			return 0;
	while (b->level > a->level)
		if ((b = b->parent) == a)
			return 1;
	while (a->parent != b->parent)
		a = a->parent, b = b->parent;
	return a->index < b->index;
}

/*
 * Directories are opened in the order they are listed: replies come back
 * in any order, and a directory found later but listed sooner must not
 * wait behind a whole subtree found earlier (the printer would wait for
 * it, holding everything listed after it).
 */
static void
push_open(struct dir *d)
{
	size_t i, up;

	toopen = grow(toopen, &captoopen, ntoopen, sizeof(*toopen));
	for (i = ntoopen++; i > 0 && before(d, toopen[up = (i - 1) / 2]); i = up)
		toopen[i] = toopen[up];
	toopen[i] = d;
}

static struct dir *
pop_open(void)
{
	struct dir *top = toopen[0], *last = toopen[--ntoopen];
	size_t i = 0, kid;

	while ((kid = 2 * i + 1) < ntoopen) {
		if (kid + 1 < ntoopen && before(toopen[kid + 1], toopen[kid]))
			kid++;
		if (!before(toopen[kid], last))
			break;
		toopen[i] = toopen[kid];
		i = kid;
	}
	toopen[i] = last;
	return top;
}

/* Nothing more is asked about d, nor opened relative to it. */
static void
release(struct dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static int
complete(struct dir *d)
{
	return d->error || (d->eof && d->out == 0 && d->pos >= d->len);
}

/* Entry i of d is a directory: it is opened (relative to d, which stays open until it is). */
static void
found(struct dir *d, size_t i)
{
	struct entry *e = &d->ents[i];
	char *p = malloc(strlen(d->path) + strlen(e->name) + 2);

	sprintf(p, "%s/%s", d->path, e->name);
	e->sub = newdir(p, d, i);
	d->kids++;
	push_open(e->sub);
}

/* Everything about d is known: its subdirectories, in listing order, for the printer. */
static void
finish(struct dir *d)
{
	size_t i;

	if (d->buf != NULL)
		putbuf(d->buf);
	d->buf = NULL;
	for (i = 0; i < d->nents; i++) {
		if (d->ents[i].sub != NULL) {
			d->subs = grow(d->subs, &d->capsubs, d->nsubs, sizeof(*d->subs));
			d->subs[d->nsubs++] = d->ents[i].sub;
		}
	}
	if (d->kids == 0)
		release(d);
}

static void
done(struct op *op)
{
	struct dir *d = op->dir;
	msg_t *m = &op->m.hdr;
	struct entry *e;
	char target[4096];
	ssize_t n;
	unsigned i;

	switch (op->kind) {
	case OPEN:
		if (d->parent != NULL && --d->parent->kids == 0 && complete(d->parent))
			release(d->parent);
		if ((d->error = m->ms_error) == 0) {
			d->fd = (int)m->ms_result;
			d->buf = getbuf();
			d->next = ready;
			ready = d;
		} else {
			finish(d);
		}
		break;
	case LIST:
		d->out--;
		if (m->ms_error != 0 || m->ms_result <= 0) {
			d->eof = 1;
		} else {
			d->pos = 0, d->len = m->ms_result, d->eof = op->m.list.eof;
			d->next = ready;	/* back on the stack with more to ask */
			ready = d;
		}
		if (complete(d))
			finish(d);
		break;
	case STAT:
		d->out--;
		for (i = 0; i < op->m.stat.n; i++) {
			e = &d->ents[op->ent + i];
			e->error = m->ms_error ? m->ms_error : op->errs[i];
			e->st = op->st[i];
			if (e->error == 0 && S_ISLNK(e->st.st_mode) &&
			    (n = readlinkat(d->fd, e->name, target, sizeof(target) - 1)) >= 0) {
				target[n] = '\0';
				e->target = strdup(target);
			}
			if (e->error == 0 && S_ISDIR(e->st.st_mode))
				found(d, op->ent + i);
		}
		if (complete(d))
			finish(d);
		break;
	}
	op->next = freeops;
	freeops = op;
}

static void
ask(struct op *op, int kind, struct dir *d, size_t size)
{
	op->kind = kind;
	op->dir = d;
	prep_async(&op->m.hdr, replies);
	op->m.hdr.ms_cookie = op;
	if (sendsys(sysport(), &op->m.hdr, size) == EASYNC)
		inflight++;
	else
		done(op);		/* it finished in place */
}

static int
next(struct op *op)
{
	struct dirent64 *de;
	struct entry *e;
	struct dir *d;
	unsigned n;

	while ((d = ready) != NULL) {
		for (n = 0; n < CHUNK && d->pos < d->len; d->pos += de->d_reclen) {
			de = (struct dirent64 *)(d->buf + d->pos);
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			d->ents = grow(d->ents, &d->cap, d->nents, sizeof(*d->ents));
			e = &d->ents[d->nents++];
			memset(e, 0, sizeof(*e));
			op->names[n++] = e->name = strdup(de->d_name);
		}
		/* off the stack once there is nothing more to ask, not even a
		   listing: its replies may then finish it */
		if (d->pos >= d->len && (d->eof || n == 0))
			ready = d->next;
		if (n > 0) {
			op->ent = d->nents - n;
			prep_fstatatv(&op->m.stat, d->fd, op->names, op->st, op->errs, n,
			    AT_SYMLINK_NOFOLLOW);
			d->out++;
			ask(op, STAT, d, sizeof(op->m.stat));
			return 1;
		}
		if (!d->eof) {
			prep_getdents64(&op->m.list, d->fd, d->buf, BUFSIZE);
			d->out++;
			ask(op, LIST, d, sizeof(op->m.list));	/* back on the stack when it brings more */
			return 1;
		}
		if (complete(d))
			finish(d);	/* its last listing held only . and .. */
	}
	if (ntoopen > 0) {
		struct dir *parent = (d = pop_open())->parent;

		prep_openat(&op->m.open, parent ? parent->fd : AT_FDCWD,
		    parent ? d->path + strlen(parent->path) + 1 : d->path,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | (parent ? O_NOFOLLOW : 0), 0);
		ask(op, OPEN, d, sizeof(op->m.open));
		return 1;
	}
	return 0;
}

/*
 * The printer: a depth-first walk over the directories, as the twin's
 * recursion visits them, that stops at the first one not complete yet.
 * Returns 1 once root and everything below it are printed.
 */
static struct dir **stack;
static size_t depth, capstack;

static int
print_ready(void)
{
	struct dir *d;
	size_t i;

	while (depth > 0) {
		d = stack[depth - 1];
		if (!d->shown) {
			if (!complete(d))
				return 0;
			d->shown = 1;
			if (d->error) {
				fprintf(stderr, "%s: cannot open directory '%s': %s\n", cli_prog,
				    d->path, strerror(d->error));
				failed = 1;
			} else {
				printf("%s:\n", d->path);
				for (i = 0; i < d->nents; i++) {
					struct entry *e = &d->ents[i];

					if (e->error != 0) {
						fprintf(stderr, "%s: cannot access '%s/%s': %s\n",
						    cli_prog, d->path, e->name, strerror(e->error));
						failed = 1;
						continue;
					}
					lsr_print(&e->st, e->name, e->target);
				}
				putchar('\n');
			}
		}
		if (d->printed < d->nsubs) {
			stack = grow(stack, &capstack, depth, sizeof(*stack));
			stack[depth++] = d->subs[d->printed++];
			continue;
		}
		for (i = 0; i < d->nents; i++) {
			free(d->ents[i].name);
			free(d->ents[i].target);
		}
		free(d->ents);
		free(d->subs);
		free(d->path);
		free(d);
		depth--;
	}
	return 1;
}

static void
walk(const char *root)
{
	struct op *op;
	msg_t *m;

	stack = grow(stack, &capstack, 0, sizeof(*stack));
	stack[depth++] = newdir(strdup(root), NULL, 0);
	push_open(stack[depth - 1]);
	for (;;) {
		while (inflight < window) {
			/* take what has come back first: the printer may be
			   waiting for it, and the walk would run ahead of it
			   through the tree, holding every entry meanwhile */
			while ((m = getport(replies)) != NULL) {
				inflight--;
				done(m->ms_cookie);
			}
			if ((op = freeops) == NULL)
				op = malloc(sizeof(*op));
			else
				freeops = op->next;
			if (!next(op)) {
				op->next = freeops;
				freeops = op;
				break;
			}
			/* print as soon as possible: a hot cache answers
			   everything at once, and the walk would run ahead
			   through the whole tree before printing */
			if (print_ready())
				return;
		}
		if (print_ready())
			return;
		if (inflight > 0) {
			waitsys(replies, NULL);
			while ((m = getport(replies)) != NULL) {
				inflight--;
				done(m->ms_cookie);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sysport_attr attr = { .sa_workers = 16 };
	int opt, r;

	cli_prog = "lsr";
	cli_usage = "[-j N] [DIR]...";
	cli_help = "List each DIR (default .) and every directory below it, as ls -lR,\n"
	    "stat'ing the entries with asynchronous messages.\n"
	    "  -j N  N worker threads (1 to 1024, default 16)\n";
	while ((opt = cli_getopt(argc, argv, "j:")) != -1)
		attr.sa_workers = (unsigned)cli_number(opt, optarg, 1, 1024);
	cli_dot(argc, argv);
	window = 8 * (int)attr.sa_workers;
	if ((r = sysport_start(&attr)) != 0 || (replies = mkport_queue()) == NULL) {
		fprintf(stderr, "%s: cannot start the system port: %s\n", cli_prog,
		    strerror(r ? r : errno));
		return 1;
	}
	for (; optind < argc; optind++) {
		if ((r = lsr_root(argv[optind])) < 0)
			failed = 1;
		else if (r > 0)
			walk(argv[optind]);
	}
	return failed;
}
