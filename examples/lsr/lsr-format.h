/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lsr-format.h - how lsr and its synchronous twin print an entry, so the
 * two agree to the byte: "mode links size name[ -> target]".
 */
#ifndef LSR_FORMAT_H
#define LSR_FORMAT_H

#include <stdio.h>
#include <sys/stat.h>

#include "../cli.h"

static void
lsr_print(const struct stat *st, const char *name, const char *target)
{
	static const char rwx[] = "rwxrwxrwx";
	mode_t m = st->st_mode;
	char mode[11];
	int i;

	mode[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' :
	    S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
	for (i = 0; i < 9; i++)
		mode[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	mode[10] = '\0';
	printf("%s %lu %lld %s", mode, (unsigned long)st->st_nlink, (long long)st->st_size, name);
	if (target != NULL)
		printf(" -> %s", target);
	putchar('\n');
}

/*
 * lsr_root
 *	1 if path is a directory to list; else 0 once its line is printed
 *	(as `ls -lR FILE` prints it), or -1 if it cannot be looked at.
 */
static int
lsr_root(const char *path)
{
	struct stat st;
	int r = cli_root(path, &st);

	if (r == 0)
		lsr_print(&st, path, NULL);
	return r;
}

#endif /* LSR_FORMAT_H */
