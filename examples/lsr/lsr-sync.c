/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lsr-sync - the synchronous twin of lsr: an `ls -lR` in the seed
 * program's shape, one lstat() after another.
 *
 * For each directory: a "PATH:" line, then one line per entry in the
 * order readdir returned them -- mode, links, size, name (and "-> target"
 * for symlinks) -- then a blank line, then its subdirectories the same
 * way.  Unreadable directories are reported on stderr and skipped; the
 * exit status is then 1.  Each directory is opened relative to its
 * parent (openat, fstatat, readlinkat), so paths longer than PATH_MAX
 * are listed too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsr-format.h"

static int failed;

/* List the directory open as fd (which it closes), called path. */
static void
list(int fd, const char *path)
{
	char target[4096];
	char **subdirs = NULL;
	size_t nsub = 0, i;
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *dir;

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		fprintf(stderr, "%s: cannot open directory '%s': %s\n", cli_prog, path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		failed = 1;
		return;
	}
	printf("%s:\n", path);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			fprintf(stderr, "%s: cannot access '%s/%s': %s\n", cli_prog, path,
			    de->d_name, strerror(errno));
			failed = 1;
			continue;
		}
		n = S_ISLNK(st.st_mode) ?
		    readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1) : -1;
		if (n >= 0)
			target[n] = '\0';
		lsr_print(&st, de->d_name, n >= 0 ? target : NULL);
		if (S_ISDIR(st.st_mode)) {
			subdirs = realloc(subdirs, (nsub + 1) * sizeof(*subdirs));
			subdirs[nsub++] = strdup(de->d_name);
		}
	}
	putchar('\n');
	/* the directory stays open until its subdirectories are */
	for (i = 0; i < nsub; i++) {
		char *child = malloc(strlen(path) + strlen(subdirs[i]) + 2);

		sprintf(child, "%s/%s", path, subdirs[i]);
		list(openat(dirfd(dir), subdirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
		    child);
		free(child);
		free(subdirs[i]);
	}
	closedir(dir);
	free(subdirs);
}

int
main(int argc, char **argv)
{
	int opt;

	cli_prog = "lsr-sync";
	cli_usage = "[-j N] [DIR]...";
	cli_help = "lsr's synchronous twin, one lstat() after another: the same output,\n"
	    "the same options (-j N is checked, then ignored).\n";
	while ((opt = cli_getopt(argc, argv, "j:")) != -1)
		cli_number(opt, optarg, 1, 1024);	/* for the async twin's sake */
	cli_dot(argc, argv);
	for (; optind < argc; optind++) {
		switch (lsr_root(argv[optind])) {
		case -1:
			failed = 1;
			break;
		case 1:
			list(open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC), argv[optind]);
		}
	}
	return failed;
}
