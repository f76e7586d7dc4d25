/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgport-run - run a program with every system call of every thread
 * sent to the system port as a message (see msgport-run(1)).  The work
 * is done by the preloaded msgport-run-preload.so; this program sets the
 * environment, runs PROGRAM, prints the counts (-c) and exits as it did.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysnames.h"

#define NSYS	512	/* as MP_REC_NSYS (kport/record-internal.h) */

static void
usage(void)
{
	fprintf(stderr, "usage: msgport-run [-o TRACE] [-c] PROGRAM [ARGS...]\n");
	exit(2);
}

/* PROGRAM's counts, as strace -c lists them: most calls first. */
static void
print_counts(const uint64_t *c)
{
	uint64_t calls = 0, errs = 0;
	int order[NSYS], n = 0, i, j, t;
	char other[32];

	for (i = 0; i < NSYS; i++)
		if (c[i] != 0)
			order[n++] = i;
	for (i = 1; i < n; i++)	/* insertion sort: a few dozen calls */
		for (j = i; j > 0 && c[order[j]] > c[order[j - 1]]; j--)
			t = order[j], order[j] = order[j - 1], order[j - 1] = t;
	fprintf(stderr, "%10s %9s %s\n", "messages", "errors", "syscall");
	fprintf(stderr, "---------- --------- ----------------\n");
	for (i = 0; i < n; i++) {
		const char *name = (size_t)order[i] < sizeof(sysnames) / sizeof(sysnames[0]) &&
		    sysnames[order[i]] != NULL ? sysnames[order[i]] : NULL;

		if (name == NULL) {
			snprintf(other, sizeof(other), "syscall_%d", order[i]);
			name = other;
		}
		calls += c[order[i]];
		errs += c[NSYS + order[i]];
		if (c[NSYS + order[i]] != 0)
			fprintf(stderr, "%10llu %9llu %s\n", (unsigned long long)c[order[i]],
			    (unsigned long long)c[NSYS + order[i]], name);
		else
			fprintf(stderr, "%10llu %9s %s\n", (unsigned long long)c[order[i]], "", name);
	}
	fprintf(stderr, "---------- --------- ----------------\n");
	fprintf(stderr, "%10llu %9llu total\n", (unsigned long long)calls, (unsigned long long)errs);
}

int
main(int argc, char **argv)
{
	const char *trace = NULL, *preload, *old;
	uint64_t *counts = NULL;
	char *env, num[16];
	int opt, count = 0, fd, st;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+o:c")) != -1) {
		switch (opt) {
		case 'o':
			trace = optarg;
			break;
		case 'c':
			count = 1;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if ((preload = getenv("MSGPORT_RUN_PRELOAD")) == NULL)
		preload = MSGPORT_RUN_PRELOAD;
	old = getenv("LD_PRELOAD");
	if (asprintf(&env, "%s%s%s", preload, old ? ":" : "", old ? old : "") < 0)
		return 127;
	setenv("LD_PRELOAD", env, 1);
	setenv("MSGPORT_RUN", "1", 1);
	if (trace != NULL)
		setenv("MSGPORT_TRACE", trace, 1);
	if (count) {
		/* counters every process of PROGRAM's adds to */
		if ((fd = memfd_create("msgport-run", 0)) < 0 ||
		    ftruncate(fd, 2 * NSYS * sizeof(uint64_t)) != 0 ||
		    (counts = mmap(NULL, 2 * NSYS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0)) == MAP_FAILED) {
			perror("msgport-run: counts");
			return 127;
		}
		snprintf(num, sizeof(num), "%d", fd);
		setenv("MSGPORT_RUN_COUNTS", num, 1);
	}
	if ((pid = fork()) < 0) {
		perror("msgport-run: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "msgport-run: %s: %s\n", argv[optind], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* the terminal's signals reach PROGRAM; this one waits for it */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("msgport-run: waitpid");
			return 127;
		}
	if (count)
		print_counts(counts);
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		kill(getpid(), WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}
