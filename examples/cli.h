/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - the command line every example shares, as the tools they
 * imitate have it: --help prints the usage on stdout and exits 0,
 * --version prints "PROGRAM (msgport) VERSION", an unknown option or a
 * bad number prints the usage on stderr and exits 2, and every error
 * names the program.
 *
 * A program sets cli_prog, cli_usage (what follows its name on the usage
 * line) and cli_help (the lines --help adds), then calls cli_getopt()
 * where it would call getopt().
 */
#ifndef MSGPORT_EXAMPLES_CLI_H
#define MSGPORT_EXAMPLES_CLI_H

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *cli_prog, *cli_usage, *cli_help;

enum { CLI_HELP = 256, CLI_VERSION };

/* The usage line, on stdout with --help (and exit 0), else on stderr (exit 2). */
static inline _Noreturn void
cli_usage_exit(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s%s%s\n", cli_prog, *cli_usage ? " " : "", cli_usage);
	if (status == 0 && cli_help != NULL)
		fputs(cli_help, f);
	exit(status);
}

/*
 * cli_getopt
 *	getopt() with --help and --version; an unknown option or a missing
 *	argument is named, then the usage, exit 2.
 */
static inline int
cli_getopt(int argc, char **argv, const char *opts)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, CLI_HELP },
		{ "version", no_argument, NULL, CLI_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	char quiet[32];			/* ":opts": getopt leaves the naming to us */
	int opt;

	snprintf(quiet, sizeof(quiet), ":%s", opts);
	opt = getopt_long(argc, argv, quiet, longopts, NULL);
	switch (opt) {
	case CLI_HELP:
		cli_usage_exit(0);
	case CLI_VERSION:
		printf("%s (msgport) %s\n", cli_prog, PACKAGE_VERSION);
		exit(0);
	case ':':
		fprintf(stderr, "%s: option '%s' needs an argument\n", cli_prog, argv[optind - 1]);
		cli_usage_exit(2);
	case '?':
		if (optopt != 0)
			fprintf(stderr, "%s: unknown option '-%c'\n", cli_prog, optopt);
		else
			fprintf(stderr, "%s: unknown option '%s'\n", cli_prog, argv[optind - 1]);
		cli_usage_exit(2);
	}
	return opt;
}

/* No options but --help and --version, and no operands. */
static inline void
cli_noargs(int argc, char **argv)
{
	while (cli_getopt(argc, argv, "") != -1)
		continue;
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cli_prog, argv[optind]);
		cli_usage_exit(2);
	}
}

/* No operand means the current directory, as in coreutils. */
static inline void
cli_dot(int argc, char **argv)
{
	if (optind == argc && argc > 0)
		argv[--optind] = ".";
}

/* The number an option was given, in [min, max], or the usage and exit 2. */
static inline long
cli_number(int opt, const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s: -%c: '%s' is not a number from %ld to %ld\n", cli_prog, opt,
		    arg, min, max);
		cli_usage_exit(2);
	}
	return v;
}

/*
 * cli_root
 *	A walk's starting point, followed if a symlink: 1 for a directory
 *	to walk, 0 for anything else, -1 (named on stderr) if it cannot be
 *	looked at.
 */
static inline int
cli_root(const char *path, struct stat *st)
{
	if (stat(path, st) != 0) {
		fprintf(stderr, "%s: cannot access '%s': %s\n", cli_prog, path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st->st_mode);
}

#endif /* MSGPORT_EXAMPLES_CLI_H */
