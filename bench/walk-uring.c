/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * walk-uring - a baseline for the du benchmark: the tree walk with
 * io_uring.  Directories are read synchronously (io_uring has no
 * readdir); every entry's lstat is an IORING_OP_STATX, up to DEPTH in
 * flight, submitted in batches.
 *
 * walk-uring [-j DEPTH] DIR  prints "bytes<TAB>entries<TAB>DIR".
 */
#define _GNU_SOURCE	/* statx */
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct req {
	struct statx	stx;
	char		path[4096];
	struct req	*next;		/* free list */
};

struct walk {
	struct io_uring	ring;
	struct req	*free;
	char		**dirs;		/* directories still to read */
	size_t		ndirs, capdirs;
	DIR		*dir;		/* the one being read */
	char		dirpath[4096];
	unsigned	inflight, queued;
	long long	bytes, entries;
};

static void
push_dir(struct walk *w, const char *path)
{
	if (w->ndirs == w->capdirs) {
		w->capdirs = w->capdirs ? w->capdirs * 2 : 1024;
		w->dirs = realloc(w->dirs, w->capdirs * sizeof(*w->dirs));
	}
	w->dirs[w->ndirs++] = strdup(path);
}

/* The next entry to stat, reading directories as needed; 0 when none. */
static int
next_entry(struct walk *w, char *out)
{
	struct dirent *de;

	for (;;) {
		if (w->dir == NULL) {
			if (w->ndirs == 0)
				return 0;
			char *p = w->dirs[--w->ndirs];

			snprintf(w->dirpath, sizeof(w->dirpath), "%s", p);
			free(p);
			if ((w->dir = opendir(w->dirpath)) == NULL)
				continue;
		}
		while ((de = readdir(w->dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (snprintf(out, 4096, "%s/%s", w->dirpath, de->d_name) >= 4096)
				continue;
			return 1;
		}
		closedir(w->dir);
		w->dir = NULL;
	}
}

static void
reap(struct walk *w, int wait)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	if (wait && io_uring_wait_cqe(&w->ring, &cqe) != 0)
		return;
	io_uring_for_each_cqe(&w->ring, head, cqe) {
		struct req *r = io_uring_cqe_get_data(cqe);

		if (cqe->res == 0) {
			w->bytes += (long long)r->stx.stx_size;
			w->entries++;
			if (S_ISDIR(r->stx.stx_mode))
				push_dir(w, r->path);
		}
		r->next = w->free;
		w->free = r;
		n++;
	}
	io_uring_cq_advance(&w->ring, n);
	w->inflight -= n;
}

int
main(int argc, char **argv)
{
	static struct walk w;
	unsigned depth = 256, i;
	struct req *reqs;
	int opt, more = 1;

	while ((opt = getopt(argc, argv, "j:")) != -1)
		if (opt == 'j')
			depth = (unsigned)atoi(optarg);
	if (optind != argc - 1 || depth < 1 || depth > 4096) {
		fprintf(stderr, "usage: %s [-j DEPTH] DIR\n", argv[0]);
		return 2;
	}
	if (io_uring_queue_init(depth, &w.ring, 0) != 0) {
		perror("io_uring_queue_init");
		return 77;
	}
	reqs = calloc(depth, sizeof(*reqs));
	for (i = 0; i < depth; i++) {
		reqs[i].next = w.free;
		w.free = &reqs[i];
	}
	push_dir(&w, argv[optind]);
	while (more || w.inflight > 0) {
		while (more && w.free != NULL) {
			struct req *r = w.free;
			struct io_uring_sqe *sqe;

			if (!(more = next_entry(&w, r->path)))
				break;
			w.free = r->next;
			sqe = io_uring_get_sqe(&w.ring);
			io_uring_prep_statx(sqe, AT_FDCWD, r->path, AT_SYMLINK_NOFOLLOW,
			    STATX_TYPE | STATX_SIZE, &r->stx);
			io_uring_sqe_set_data(sqe, r);
			w.inflight++;
			if (++w.queued == 32) {
				io_uring_submit(&w.ring);
				w.queued = 0;
			}
		}
		if (w.queued) {
			io_uring_submit(&w.ring);
			w.queued = 0;
		}
		if (w.inflight > 0)
			reap(&w, 1);
		/* a directory reached only through completions */
		if (!more && w.ndirs > 0)
			more = 1;
	}
	printf("%lld\t%lld\t%s\n", w.bytes, w.entries, argv[optind]);
	io_uring_queue_exit(&w.ring);
	free(reqs);
	return 0;
}
