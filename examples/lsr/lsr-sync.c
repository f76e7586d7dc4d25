/*
 * lsr-sync - the synchronous twin of lsr: an `ls -lR` in the seed
 * program's shape, one lstat() after another.
 *
 * For each directory: a "PATH:" line, then one line per entry in the
 * order readdir returned them -- mode, links, size, name (and "-> target"
 * for symlinks) -- then a blank line, then its subdirectories the same
 * way.  Unreadable directories are reported on stderr and skipped; the
 * exit status is then 1.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsr-format.h"

static int failed;

static void
list(const char *path)
{
	char child[4096], target[4096];
	char **subdirs = NULL;
	size_t nsub = 0, i;
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *dir;

	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "lsr: cannot open directory '%s': %s\n", path, strerror(errno));
		failed = 1;
		return;
	}
	printf("%s:\n", path);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		if (lstat(child, &st) != 0) {
			fprintf(stderr, "lsr: cannot access '%s': %s\n", child, strerror(errno));
			failed = 1;
			continue;
		}
		n = S_ISLNK(st.st_mode) ? readlink(child, target, sizeof(target) - 1) : -1;
		if (n >= 0)
			target[n] = '\0';
		lsr_print(&st, de->d_name, n >= 0 ? target : NULL);
		if (S_ISDIR(st.st_mode)) {
			subdirs = realloc(subdirs, (nsub + 1) * sizeof(*subdirs));
			subdirs[nsub++] = strdup(child);
		}
	}
	closedir(dir);
	putchar('\n');
	for (i = 0; i < nsub; i++) {
		list(subdirs[i]);
		free(subdirs[i]);
	}
	free(subdirs);
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		list(argv[i]);
	return failed;
}
