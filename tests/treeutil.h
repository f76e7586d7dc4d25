/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * treeutil.h - a real directory tree to walk, and running the walkers.
 *
 * The tree has nested directories, many files of varied sizes, hard
 * links, symlinks (one dangling), names with spaces and a newline, one
 * directory nobody may read, and one whose names can be read but whose
 * entries cannot be looked up (as if they had vanished).
 */
#ifndef MSGPORT_TREEUTIL_H
#define MSGPORT_TREEUTIL_H

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
tree_file(const char *dir, const char *name, size_t size)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		abort();
	close(fd);
}

static void
tree_dir(const char *parent, const char *name, char *out)
{
	if (snprintf(out, 4096, "%s/%s", parent, name) >= 4096 || mkdir(out, 0755) != 0)
		abort();
}

/*
 * The tree: TREE_DIRS directories of 46 entries each (dirN itself, 40
 * files, sub, its named file, deeper, leaf, an empty directory), a
 * directory of TREE_BIG files (more than one 32 KiB listing), and 6
 * more entries at the top.
 */
enum { TREE_DIRS = 24, TREE_BIG = 1500 };
#define TREE_ENTRIES	(TREE_DIRS * 46 + 1 + TREE_BIG + 6)

/* Make the tree under a new temporary directory; returns its path. */
static char *
tree_make(void)
{
	static char root[] = "/tmp/msgport-tree-XXXXXX";
	char d1[4096], d2[4096], d3[4096], name[64], path[4096], lnk[4096];
	int i, j;

	if (mkdtemp(root) == NULL || chmod(root, 0755) != 0)
		abort();
	for (i = 0; i < TREE_DIRS; i++) {
		snprintf(name, sizeof(name), "dir%d", i);
		tree_dir(root, name, d1);
		for (j = 0; j < 40; j++) {
			snprintf(name, sizeof(name), "file%d", j);
			tree_file(d1, name, (size_t)(i * 1000 + j * 37));
		}
		tree_dir(d1, "sub", d2);
		tree_dir(d2, "deeper", d3);
		tree_file(d3, "leaf", 12345);
		tree_file(d2, "name with spaces", 7);
		tree_dir(d1, "empty", d2);
	}
	/* one directory too big for one listing */
	tree_dir(root, "big", d1);
	for (j = 0; j < TREE_BIG; j++) {
		snprintf(name, sizeof(name), "a-longer-file-name-%d", j);
		tree_file(d1, name, (size_t)j);
	}
	tree_file(root, "new\nline", 3);
	snprintf(path, sizeof(path), "%s/dir0/file1", root);
	snprintf(lnk, sizeof(lnk), "%s/hardlink", root);
	if (link(path, lnk) != 0)
		abort();
	snprintf(lnk, sizeof(lnk), "%s/symlink", root);
	if (symlink("dir0/file1", lnk) != 0)
		abort();
	snprintf(lnk, sizeof(lnk), "%s/dangling", root);
	if (symlink("no/such/file", lnk) != 0)
		abort();
	tree_dir(root, "locked", d1);
	tree_file(d1, "hidden", 999);
	if (chmod(d1, 0) != 0)
		abort();
	tree_dir(root, "noexec", d1);
	tree_file(d1, "unreachable", 5);
	if (chmod(d1, 0444) != 0)
		abort();
	return root;
}

/*
 * A tree whose paths outgrow PATH_MAX: TREE_DEEP levels of directories
 * with 120-character names (about 4,900 bytes at the bottom), each
 * level holding a file, and every fourth a symlink and an empty
 * directory too.  Made with mkdirat() and openat() down the chain, as no
 * path to the bottom can be handed to the kernel.
 */
enum { TREE_DEEP = 40 };

static char *
tree_make_deep(void)
{
	static char root[] = "/tmp/msgport-deep-XXXXXX";
	char name[128];
	int fd, sub, i;

	if (mkdtemp(root) == NULL || chmod(root, 0755) != 0 || (fd = open(root, O_RDONLY)) < 0)
		abort();
	memset(name, 'd', 120);
	for (i = 0; i < TREE_DEEP; i++) {
		snprintf(name + 120, 8, "%02d", i);
		if ((sub = openat(fd, "file", O_WRONLY | O_CREAT, 0644)) < 0 ||
		    ftruncate(sub, i * 100 + 1) != 0)
			abort();
		close(sub);
		if (i % 4 == 0 && (symlinkat("file", fd, "link") != 0 || mkdirat(fd, "empty", 0755) != 0))
			abort();
		if (mkdirat(fd, name, 0755) != 0 || (sub = openat(fd, name, O_RDONLY)) < 0)
			abort();
		close(fd);
		fd = sub;
	}
	close(fd);
	return root;
}

static void
tree_remove(const char *root)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", root, root);
	if (system(cmd) != 0)
		abort();
}

/*
 * Run argv with stdout and stderr captured into malloc'd strings; returns
 * the exit status.  Root is not stopped by permission bits, so as root
 * the child first gives up the capabilities that override them (from its
 * bounding set, so the program it runs has them not either); the tree is
 * root's own, and its owner's bits then apply.
 */
static int
tree_run(char *const argv[], char **out, char **err)
{
	char ofile[] = "/tmp/msgport-out-XXXXXX", efile[] = "/tmp/msgport-err-XXXXXX";
	int ofd = mkstemp(ofile), efd = mkstemp(efile), status;
	pid_t pid;
	FILE *f;
	long n;

	if (ofd < 0 || efd < 0)
		abort();
	if ((pid = fork()) == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		if (geteuid() == 0 && (prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0 ||
		    prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0) != 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	for (int k = 0; k < 2; k++) {
		char **dst = k ? err : out;

		f = fopen(k ? efile : ofile, "r");
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		*dst = calloc(1, (size_t)n + 1);
		if (fread(*dst, 1, (size_t)n, f) != (size_t)n)
			abort();
		fclose(f);
	}
	close(ofd);
	close(efd);
	unlink(ofile);
	unlink(efile);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif /* MSGPORT_TREEUTIL_H */
