/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * du-sync - the synchronous twin of du: one lstat() after another.
 *
 * du-sync [-ax] [DIR]...  prints, for each DIR (by default .), the total
 * apparent size in bytes and the number of entries below it (what
 * `find DIR -mindepth 1 -printf '%s\n'` sums and counts; hard links are
 * counted each time, as find does).  -a also prints every entry's size
 * and path; -x stays on DIR's file system.  Unreadable directories are
 * reported on stderr, counted themselves, and the walk goes on; the exit
 * status is then 1.
 *
 * This is the seed program's shape, kept plain on purpose: it is the
 * baseline the asynchronous du must match when nothing blocks.  Like du
 * it opens each directory relative to its parent (openat, fstatat), so
 * paths longer than PATH_MAX are walked too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli.h"

struct total {
	long long	bytes;
	long long	entries;
	dev_t		dev;		/* -x: DIR's file system */
	int		all, xdev;	/* -a, -x */
	int		failed;
	char		*path;		/* the entry's path, for messages and -a */
	size_t		cap;
};

/* Put "/name" at path[len], growing the buffer as needed. */
static void
extend(struct total *t, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len + n + 2 > t->cap) {
		t->cap = 2 * (len + n + 2);
		t->path = realloc(t->path, t->cap);
	}
	t->path[len] = '/';
	memcpy(t->path + len + 1, name, n + 1);
}

/* Walk the directory open as fd (which it closes), whose path is t->path[0..len). */
static void
walk(int fd, size_t len, struct total *t)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		t->path[len] = '\0';
		fprintf(stderr, "%s: cannot read directory '%s': %s\n", cli_prog, t->path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		t->failed = 1;
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		extend(t, len, de->d_name);
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			fprintf(stderr, "%s: cannot access '%s': %s\n", cli_prog, t->path,
			    strerror(errno));
			t->failed = 1;
			continue;
		}
		t->bytes += st.st_size;
		t->entries++;
		if (t->all)
			printf("%lld\t%s\n", (long long)st.st_size, t->path);
		if (S_ISDIR(st.st_mode) && (!t->xdev || st.st_dev == t->dev))
			walk(openat(dirfd(dir), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
			    len + 1 + strlen(de->d_name), t);
	}
	closedir(dir);
}

int
main(int argc, char **argv)
{
	struct total t;
	struct stat st;
	int all = 0, xdev = 0, opt, r, status = 0;

	cli_prog = "du-sync";
	cli_usage = "[-ax] [-j N] [DIR]...";
	cli_help = "du's synchronous twin, one lstat() after another: the same output,\n"
	    "the same options (-j N is checked, then ignored).\n";
	while ((opt = cli_getopt(argc, argv, "aj:x")) != -1) {
		if (opt == 'a')
			all = 1;
		else if (opt == 'x')
			xdev = 1;
		else			/* accepted for the async twin's sake */
			cli_number(opt, optarg, 1, 1024);
	}
	cli_dot(argc, argv);
	for (; optind < argc; optind++) {
		if ((r = cli_root(argv[optind], &st)) < 0) {
			status = 1;
			continue;
		}
		memset(&t, 0, sizeof(t));
		t.all = all, t.xdev = xdev, t.dev = st.st_dev;
		if (r > 0) {
			t.path = strdup(argv[optind]);
			t.cap = strlen(t.path) + 1;
			walk(open(t.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), t.cap - 1, &t);
		}
		free(t.path);
		printf("%lld\t%lld\t%s\n", t.bytes, t.entries, argv[optind]);
		status |= t.failed;
	}
	return status;
}
