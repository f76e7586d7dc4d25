/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * du - the tree-walk challenge: `du -s` where every lstat() is a message.
 *
 * du [-ax] [-j N] [DIR]...  prints, per DIR (by default .), the total
 * apparent size in bytes and the number of entries below it (as
 * `find DIR -mindepth 1` counts them), like its synchronous twin du-sync.
 * -a prints each entry too; -x stays on DIR's file system (as
 * `find -xdev`: a mount point is counted, not entered).
 *
 * Directories are opened, read (getdents64) and their entries lstat'ed
 * (fstatatv: fstatat() relative to the directory, 16 names per message)
 * all as asynchronous messages to the system port; up to 8*N are in
 * flight (N workers, 16 by default) and their replies come back on one
 * queue port.  The program never decides what runs where: the system
 * port runs a call in place while such calls do not block (a hot cache:
 * then sendsys() hands back the result at once, as cheap as the plain
 * calls) and on its N worker threads when they do (a cold cache: the disk
 * then sees many requests at once).
 *
 * Each directory is opened relative to its parent's descriptor, and its
 * entries looked up relative to its own, so paths of any length are
 * walked (and the kernel resolves one name, not the whole path); a
 * directory stays open until its subdirectories are.
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

#include "../cli.h"

enum { OPEN, LIST, STAT };
enum { CHUNK = 16 };			/* names lstat'ed per message */

struct dir {				/* a directory being read */
	struct dir	*next;
	char		*path;
	int		fd;
	int		out;		/* messages in flight about it */
	int		kids;		/* subdirectories to open relative to fd */
	int		eof;		/* its end has been read */
	long		pos, len;	/* the part of buf not yet stat'ed */
	char		buf[32768];
};

struct op {				/* a message and what it is about */
	union {
		msg_t			hdr;
		struct sys_openat	open;
		struct sys_getdents64	list;
		struct sys_fstatatv	stat;
	} m;
	int		kind;
	struct dir	*dir;		/* OPEN: the parent (NULL: a root) */
	struct op	*next;		/* the free list */
	char		*path;		/* OPEN: the directory's path */
	const char	*names[CHUNK];	/* STAT: names, their outcomes */
	struct stat	st[CHUNK];
	int		errs[CHUNK];
	char		name[CHUNK][256];
};

static msgport_t *replies;
static struct op *freeops;
static struct dir *ready;		/* open directories with work to ask for */
static struct dir *freedirs;		/* closed ones, to reuse */
static struct found {			/* directories found, not yet opened */
	struct dir	*parent;
	char		*path;
} *toopen;
static size_t ntoopen, captoopen;
static int inflight, window, all, xdev, failed;
static long long bytes, entries;
static dev_t rootdev;			/* -x: the file system to stay on */

/* A directory to open: path is malloc'd, and the walk's from now on. */
static void
found_dir(struct dir *parent, char *path)
{
	if (ntoopen == captoopen) {
		captoopen = captoopen ? 2 * captoopen : 256;
		toopen = realloc(toopen, captoopen * sizeof(*toopen));
	}
	toopen[ntoopen].parent = parent;
	toopen[ntoopen++].path = path;
	if (parent != NULL)
		parent->kids++;
}

static char *
join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

/* A directory with nothing left to read, stat or open below it is closed. */
static void
maybe_close(struct dir *d)
{
	if (!d->eof || d->out > 0 || d->pos < d->len || d->kids > 0)
		return;
	close(d->fd);
	free(d->path);
	d->next = freedirs;
	freedirs = d;
}

/* An entry's lstat() outcome. */
static void
counted(struct dir *d, const char *name, const struct stat *st, int error)
{
	if (error != 0) {
		fprintf(stderr, "%s: cannot access '%s/%s': %s\n", cli_prog, d->path, name,
		    strerror(error));
		failed = 1;
		return;
	}
	bytes += st->st_size;
	entries++;
	if (all || S_ISDIR(st->st_mode)) {
		char *path = join(d->path, name);

		if (all)
			printf("%lld\t%s\n", (long long)st->st_size, path);
		if (S_ISDIR(st->st_mode) && (!xdev || st->st_dev == rootdev))
			found_dir(d, path);
		else
			free(path);
	}
}

/* A message has come back (or finished in place): take its result. */
static void
done(struct op *op)
{
	struct dir *d = op->dir;
	msg_t *m = &op->m.hdr;

	switch (op->kind) {
	case OPEN:
		if (d != NULL) {	/* opened relative to it: it may close now */
			d->kids--;
			maybe_close(d);
		}
		if (m->ms_error != 0) {
			fprintf(stderr, "%s: cannot read directory '%s': %s\n", cli_prog, op->path,
			    strerror(m->ms_error));
			failed = 1;
			free(op->path);
			break;
		}
		if ((d = freedirs) != NULL)
			freedirs = d->next;
		else
			d = malloc(sizeof(*d));
		memset(d, 0, offsetof(struct dir, buf));	/* buf needs no clearing */
		d->path = op->path;
		d->fd = (int)m->ms_result;
		d->next = ready;
		ready = d;
		break;
	case LIST:
		d->out--;
		if (m->ms_error != 0) {
			fprintf(stderr, "%s: cannot read directory '%s': %s\n", cli_prog, d->path,
			    strerror(m->ms_error));
			failed = 1;
		}
		if (m->ms_result <= 0) {
			d->eof = 1;
			maybe_close(d);
		} else {
			d->pos = 0, d->len = m->ms_result;
			d->eof = op->m.list.eof;	/* no need to ask for the end */
			d->next = ready;
			ready = d;
		}
		break;
	case STAT:
		d->out--;
		for (unsigned i = 0; i < op->m.stat.n; i++)
			counted(d, op->names[i], &op->st[i], m->ms_error ? m->ms_error : op->errs[i]);
		maybe_close(d);
		break;
	}
	op->next = freeops;
	freeops = op;
}

static void
ask(struct op *op, int kind, struct dir *d)
{
	op->kind = kind;
	op->dir = d;
	prep_async(&op->m.hdr, replies);
	op->m.hdr.ms_cookie = op;
	if (sendsys(sysport(), &op->m.hdr, kind == OPEN ? sizeof(op->m.open) :
	    kind == LIST ? sizeof(op->m.list) : sizeof(op->m.stat)) == EASYNC)
		inflight++;
	else
		done(op);		/* it finished in place */
}

/* The next thing to ask for: an entry to stat, a directory to read or open. */
static int
next(struct op *op)
{
	struct dirent64 *de;
	struct dir *d;
	unsigned n;

	while ((d = ready) != NULL) {
		for (n = 0; n < CHUNK && d->pos < d->len; d->pos += de->d_reclen) {
			de = (struct dirent64 *)(d->buf + d->pos);
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			op->names[n] = strcpy(op->name[n], de->d_name);
			n++;
		}
		/* off the stack once there is nothing more to ask, not even a
		   listing: its replies may then close it */
		if (d->pos >= d->len && (d->eof || n == 0))
			ready = d->next;
		if (n > 0) {
			prep_fstatatv(&op->m.stat, d->fd, op->names, op->st, op->errs, n,
			    AT_SYMLINK_NOFOLLOW);
			d->out++;
			ask(op, STAT, d);
			return 1;
		}
		if (!d->eof) {
			prep_getdents64(&op->m.list, d->fd, d->buf, sizeof(d->buf));
			d->out++;
			ask(op, LIST, d);	/* back on the stack when it brings more */
			return 1;
		}
		maybe_close(d);		/* its last listing held only . and .. */
	}
	if (ntoopen > 0) {
		struct dir *parent = toopen[--ntoopen].parent;

		op->path = toopen[ntoopen].path;
		prep_openat(&op->m.open, parent ? parent->fd : AT_FDCWD,
		    parent ? op->path + strlen(parent->path) + 1 : op->path,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | (parent ? O_NOFOLLOW : 0), 0);
		ask(op, OPEN, parent);
		return 1;
	}
	return 0;
}

static void
walk(const char *root)
{
	struct op *op;
	msg_t *m;

	found_dir(NULL, strdup(root));
	for (;;) {
		/* ask for as much as the window allows */
		while (inflight < window) {
			/* what has come back first: it may hold subdirectories */
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
		}
		if (inflight == 0)
			return;
		/* then take what has come back */
		waitsys(replies, NULL);
		while ((m = getport(replies)) != NULL) {
			inflight--;
			done(m->ms_cookie);
		}
	}
}

int
main(int argc, char **argv)
{
	struct sysport_attr attr = { .sa_workers = 16 };
	struct stat st;
	int opt, r;

	cli_prog = "du";
	cli_usage = "[-ax] [-j N] [DIR]...";
	cli_help = "Print the total size in bytes and the number of entries below each DIR\n"
	    "(default .), stat'ing them with asynchronous messages.\n"
	    "  -a    print every entry's size and path too\n"
	    "  -x    do not enter directories on other file systems\n"
	    "  -j N  N worker threads (1 to 1024, default 16)\n";
	while ((opt = cli_getopt(argc, argv, "aj:x")) != -1) {
		if (opt == 'a')
			all = 1;
		else if (opt == 'x')
			xdev = 1;
		else
			attr.sa_workers = (unsigned)cli_number(opt, optarg, 1, 1024);
	}
	cli_dot(argc, argv);
	window = 8 * (int)attr.sa_workers;
	if ((r = sysport_start(&attr)) != 0 || (replies = mkport_queue()) == NULL) {
		fprintf(stderr, "%s: cannot start the system port: %s\n", cli_prog,
		    strerror(r ? r : errno));
		return 1;
	}
	for (; optind < argc; optind++) {
		if ((r = cli_root(argv[optind], &st)) < 0) {
			failed = 1;
			continue;
		}
		bytes = entries = 0;
		rootdev = st.st_dev;
		if (r > 0)
			walk(argv[optind]);
		printf("%lld\t%lld\t%s\n", bytes, entries, argv[optind]);
	}
	return failed;
}
