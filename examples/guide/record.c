/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * record - chapter 8 of the guide: a tape recorder of system calls.
 *
 * save() below is ordinary code: it knows nothing of messages, it calls
 * libc's open(), write() and close().  Between slate_record_begin() and
 * slate_record_end() each of its system calls runs as usual and is also
 * written down in a slate, arguments and buffer addresses as they were.
 * The descriptor open() returned becomes a register, so a replay opens a
 * new file and writes to that one.  The buffers stay live: change the
 * path and the line, run the slate again, and the new file gets the new
 * line, with one sendsys() and without running save() at all.  Numbers
 * are recorded as they were: write()'s length is the first line's, so
 * the new lines are as long.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgport.h"
#include "msgport-slate.h"
#include "guide.h"

enum { NENT = 16, NREGS = 8 };

static char path[64], line[32];

/* Code that knows nothing of msgport. */
static void
save(void)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	if (fd >= 0) {
		(void)write(fd, line, strlen(line));
		close(fd);
	}
}

/* The file's contents, or "" */
static const char *
contents(const char *file)
{
	static char buf[64];
	ssize_t n;
	int fd = open(file, O_RDONLY);

	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Descriptors open in this process. */
static int
nfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	return n;
}

int
main(void)
{
	char dir[] = "/tmp/msgport-guide-XXXXXX";
	struct slate_entry ent[NENT];
	struct sys_syscall msgs[NENT];
	struct slate_tape tp;
	struct sys_slate sl;
	int64_t regs[NREGS];
	int r, before, i;

	printf("record: a code path's system calls on tape, played again\n");
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return 1;
	slate_init(&sl, ent, NENT, regs, NREGS);
	memset(&tp, 0, sizeof(tp));
	tp.st_msg = msgs;			/* the messages the calls are written into */
	tp.st_nmsg = NENT;

	strcpy(path, "first.txt");
	strcpy(line, "line 1\n");
	r = slate_record_begin(&sl, &tp, SLATE_REC_FILE, 0);	/* file calls only */
	if (r == ENOSYS) {
		printf("record: this kernel has no Syscall User Dispatch (5.11+): skipped\n");
		return 77;
	}
	save();					/* runs, and is recorded */
	check(r == 0 && slate_record_end(&sl) == 0, "save() ran while its calls were recorded");
	check(strcmp(contents("first.txt"), "line 1\n") == 0, "it wrote first.txt as usual");
	check(sl.sl_n == 3, "three calls on tape: open, write, close");

	/* Play the tape again with new contents in the same buffers (as long). */
	(void)sysport();			/* its own descriptors, before counting */
	before = nfds();
	for (i = 2; i <= 3; i++) {
		snprintf(path, sizeof(path), "copy%d.txt", i);
		snprintf(line, sizeof(line), "line %d\n", i);
		check(sendsys(sysport(), &sl.hdr, sizeof(sl)) == 0, "one sendsys() replays the tape");
		check(strcmp(contents(path), line) == 0, "the new file holds the new line");
	}
	check(strcmp(contents("first.txt"), "line 1\n") == 0, "first.txt was left alone");
	check(nfds() == before, "every descriptor the replays opened was closed");

	unlink("first.txt"), unlink("copy2.txt"), unlink("copy3.txt");
	if (chdir("/") == 0)
		rmdir(dir);
	return verdict("record");
}
