/*
 * du-sync - the synchronous twin of du: one lstat() after another.
 *
 * du-sync [-a] DIR...  prints, for each DIR, the total apparent size in
 * bytes and the number of entries below it (what
 * `find DIR -mindepth 1 -printf '%s\n'` sums and counts; hard links are
 * counted each time, as find does).  -a also prints every entry's size
 * and path.  Unreadable directories are reported on stderr, counted
 * themselves, and the walk goes on; the exit status is then 1.
 *
 * This is the seed program's shape, kept plain on purpose: it is the
 * baseline the asynchronous du must match when nothing blocks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct total {
	long long	bytes;
	long long	entries;
	int		all;		/* -a */
	int		failed;
};

static void
walk(const char *path, struct total *t)
{
	char child[4096];
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "du: cannot read directory '%s': %s\n", path, strerror(errno));
		t->failed = 1;
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", path, de->d_name) >= (int)sizeof(child)) {
			fprintf(stderr, "du: path too long: '%s/%s'\n", path, de->d_name);
			t->failed = 1;
			continue;
		}
		if (lstat(child, &st) != 0) {
			fprintf(stderr, "du: cannot access '%s': %s\n", child, strerror(errno));
			t->failed = 1;
			continue;
		}
		t->bytes += st.st_size;
		t->entries++;
		if (t->all)
			printf("%lld\t%s\n", (long long)st.st_size, child);
		if (S_ISDIR(st.st_mode))
			walk(child, t);
	}
	closedir(dir);
}

int
main(int argc, char **argv)
{
	struct total t;
	int all = 0, opt, status = 0;

	while ((opt = getopt(argc, argv, "aj:")) != -1) {
		switch (opt) {
		case 'a':
			all = 1;
			break;
		case 'j':		/* accepted for the async twin's sake */
			break;
		default:
			fprintf(stderr, "usage: %s [-a] DIR...\n", argv[0]);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: %s [-a] DIR...\n", argv[0]);
		return 2;
	}
	for (; optind < argc; optind++) {
		memset(&t, 0, sizeof(t));
		t.all = all;
		walk(argv[optind], &t);
		printf("%lld\t%lld\t%s\n", t.bytes, t.entries, argv[optind]);
		status |= t.failed;
	}
	return status;
}
