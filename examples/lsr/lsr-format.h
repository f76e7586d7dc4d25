/*
 * lsr-format.h - how lsr and its synchronous twin print an entry, so the
 * two agree to the byte: "mode links size name[ -> target]".
 */
#ifndef LSR_FORMAT_H
#define LSR_FORMAT_H

#include <stdio.h>
#include <sys/stat.h>

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

#endif /* LSR_FORMAT_H */
