/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the tree walks agree with find and with each other on a
 * real tree: totals, entry counts, listings, and errors reported like
 * coreutils (stderr, exit status 1, the rest still counted); and on a
 * tree whose paths are longer than PATH_MAX, walked completely; and lsr
 * holding only what it has not printed yet, however large the tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>

#include "treeutil.h"

static char *root, *deep;

/* find's view of dir, with the same rights: the sum of sizes and the number of entries. */
static void
find_totals_of(char *dir, long long *bytes, long long *entries)
{
	char *argv[] = { "/usr/bin/find", dir, "-mindepth", "1", "-printf", "%s\\n", NULL };
	char *out, *err, *p;

	tree_run(argv, &out, &err);
	*bytes = *entries = 0;
	for (p = out; *p; p = strchr(p, '\n') + 1) {
		*bytes += atoll(p);
		(*entries)++;
	}
	free(out);
	free(err);
}

static void
find_totals(long long *bytes, long long *entries)
{
	find_totals_of(root, bytes, entries);
}

static void
check_du(const char *prog)
{
	char *argv[] = { (char *)prog, root, NULL };
	long long bytes, entries, fb, fe;
	char *out, *err, expect[4200];

	find_totals(&fb, &fe);
	assert_int_equal(tree_run(argv, &out, &err), 1);
	snprintf(expect, sizeof(expect), "%lld\t%lld\t%s\n", fb, fe, root);
	assert_string_equal(out, expect);
	assert_non_null(strstr(err, "cannot read directory"));
	assert_non_null(strstr(err, "/locked"));
	assert_non_null(strstr(err, "cannot access"));
	assert_non_null(strstr(err, "/noexec/unreachable"));
	assert_int_equal(sscanf(out, "%lld\t%lld", &bytes, &entries), 2);
	/* locked and noexec are counted, what is inside them not */
	assert_int_equal(entries, TREE_ENTRIES);
	free(out);
	free(err);
}

static void
du_sync_matches_find(void **state)
{
	(void)state;
	check_du("examples/du/du-sync");
}

/* The library's choice of inline or pool must not change any answer. */
static const char *const modes[] = { "inline", "pool", "auto" };

static void
du_matches_find_in_every_mode(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		setenv("MSGPORT_GUESS", modes[i], 1);
		check_du("examples/du/du");
	}
	unsetenv("MSGPORT_GUESS");
}

static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The output's lines, sorted, joined again: for outputs whose order may differ. */
static char *
sorted(char *text)
{
	char **lines = NULL, *p, *out;
	size_t n = 0, len = strlen(text) + 1;

	for (p = strtok(text, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(*lines), cmp_lines);
	out = calloc(1, len + 1);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(lines);
	return out;
}

static void
du_a_lists_the_same_entries(void **state)
{
	char *sync_argv[] = { "examples/du/du-sync", "-a", root, NULL };
	char *argv[] = { "examples/du/du", "-a", root, NULL };
	char *out1, *err1, *out2, *err2, *s1, *s2;

	(void)state;
	assert_int_equal(tree_run(sync_argv, &out1, &err1), 1);
	setenv("MSGPORT_GUESS", "pool", 1);
	assert_int_equal(tree_run(argv, &out2, &err2), 1);
	unsetenv("MSGPORT_GUESS");
	s1 = sorted(out1);
	s2 = sorted(out2);
	assert_string_equal(s1, s2);
	assert_true(strlen(s1) > 1000);
	free(s1), free(s2), free(out1), free(err1), free(out2), free(err2);
}

static void
lsr_matches_its_twin_in_every_mode(void **state)
{
	char *sync_argv[] = { "examples/lsr/lsr-sync", root, NULL };
	char *argv[] = { "examples/lsr/lsr", root, NULL };
	char *want, *werr, *out, *err;

	(void)state;
	assert_int_equal(tree_run(sync_argv, &want, &werr), 1);
	for (size_t i = 0; i < 3; i++) {
		setenv("MSGPORT_GUESS", modes[i], 1);
		assert_int_equal(tree_run(argv, &out, &err), 1);
		assert_string_equal(out, want);		/* to the byte, in order */
		assert_non_null(strstr(err, "cannot open directory"));
		assert_non_null(strstr(err, "cannot access"));
		free(out);
		free(err);
	}
	unsetenv("MSGPORT_GUESS");
	free(want);
	free(werr);
}

static void
lsr_sync_lists_every_entry_once(void **state)
{
	char *argv[] = { "examples/lsr/lsr-sync", root, NULL };
	char *out, *err, *line;
	long long fb, fe, listed = 0;

	(void)state;
	find_totals(&fb, &fe);
	assert_int_equal(tree_run(argv, &out, &err), 1);
	assert_non_null(strstr(err, "cannot open directory"));
	/* entry lines start with a mode string; the newline name splits one */
	for (line = out; *line; line = strchr(line, '\n') + 1)
		if (strchr("-dlpscb", line[0]) && strchr("-r", line[1]) && line[10] == ' ')
			listed++;
	assert_int_equal(listed, fe);
	assert_non_null(strstr(out, "-> no/such/file"));
	assert_non_null(strstr(out, "name with spaces"));
	free(out);
	free(err);
}

/*
 * Paths longer than PATH_MAX: every walker goes to the bottom, with no
 * error, and agrees with find and with its twin.
 */
static void
check_deep(char *argv[], char **out)
{
	char *err;

	assert_int_equal(tree_run(argv, out, &err), 0);
	assert_string_equal(err, "");
	free(err);
}

/* The library's choice of inline or pool changes no answer here either. */
static void
check_deep_in_every_mode(char *argv[], const char *want)
{
	char *out;

	for (size_t i = 0; i < 3; i++) {
		setenv("MSGPORT_GUESS", modes[i], 1);
		check_deep(argv, &out);
		assert_string_equal(out, want);
		free(out);
	}
	unsetenv("MSGPORT_GUESS");
}

static void
deep_du_matches_find(void **state)
{
	char *sync_argv[] = { "examples/du/du-sync", deep, NULL };
	char *argv[] = { "examples/du/du", deep, NULL };
	char *out, expect[200];
	long long fb, fe;

	(void)state;
	find_totals_of(deep, &fb, &fe);
	assert_int_equal(fe, TREE_DEEP * 2 + (TREE_DEEP / 4) * 2);
	snprintf(expect, sizeof(expect), "%lld\t%lld\t%s\n", fb, fe, deep);
	check_deep(sync_argv, &out);
	assert_string_equal(out, expect);
	free(out);
	check_deep_in_every_mode(argv, expect);
}

/* du -a names every entry as find does, the longest well past PATH_MAX. */
static void
deep_du_a_lists_what_find_lists(void **state)
{
	char *find_argv[] = { "/usr/bin/find", deep, "-mindepth", "1", "-printf", "%s\t%p\n", NULL };
	char *sync_argv[] = { "examples/du/du-sync", "-a", deep, NULL };
	char *argv[] = { "examples/du/du", "-a", deep, NULL };
	char *want, *err, *out, *s, *w;

	(void)state;
	assert_int_equal(tree_run(find_argv, &want, &err), 0);
	assert_string_equal(err, "");
	free(err);
	w = sorted(want);
	assert_true(strlen(w) > 100 * 1000);	/* the paths are long */
	for (int k = 0; k < 2; k++) {
		check_deep(k ? argv : sync_argv, &out);
		*strrchr(out, '\t') = '\0';	/* drop the totals line */
		*(strrchr(out, '\n') + 1) = '\0';
		s = sorted(out);
		assert_string_equal(s, w);
		free(s);
		free(out);
	}
	free(w);
	free(want);
}

static void
deep_lsr_matches_its_twin_and_find(void **state)
{
	char *sync_argv[] = { "examples/lsr/lsr-sync", deep, NULL };
	char *argv[] = { "examples/lsr/lsr", deep, NULL };
	char *want, *line;
	long long fb, fe, listed = 0, dirs = 0;
	size_t longest = 0;

	(void)state;
	find_totals_of(deep, &fb, &fe);
	check_deep(sync_argv, &want);
	for (line = want; *line; line = strchr(line, '\n') + 1) {
		size_t n = (size_t)(strchr(line, '\n') - line);

		if (strchr("-dl", line[0]) && line[10] == ' ')
			listed++;
		else if (n > 0 && line[n - 1] == ':')
			dirs++, longest = n > longest ? n : longest;
	}
	assert_int_equal(listed, fe);
	assert_int_equal(dirs, 1 + TREE_DEEP + TREE_DEEP / 4);
	assert_true(longest > 4096);
	check_deep_in_every_mode(argv, want);
	free(want);
}

/* A tree of 3 files with long names per directory, 3 subdirectories per directory, levels deep. */
static void
branchy(const char *dir, int levels)
{
	char sub[4096], name[200];

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%d%0150d", i, 0);
		tree_file(dir, name, 0);
	}
	for (int i = 0; levels > 0 && i < 3; i++) {
		snprintf(name, sizeof(name), "%c", 'a' + i);
		tree_dir(dir, name, sub);
		branchy(sub, levels - 1);
	}
}

/* The peak resident size of lsr listing dir, in bytes: its pool only (replies in
   any order), 4 workers (a window of 32 messages, so little is in flight). */
static long long
lsr_peak(const char *dir)
{
	struct rusage ru;
	int status;
	pid_t pid;

	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		setenv("MSGPORT_GUESS", "pool", 1);
		execl("examples/lsr/lsr", "examples/lsr/lsr", "-j", "4", dir, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(wait4(pid, &status, 0, &ru), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return (long long)ru.ru_maxrss * 1024;
}

/*
 * lsr prints a directory once it and everything before it are complete,
 * and frees it: replies come back in any order, and a directory listed
 * early but reached late would have it hold the rest of the tree until
 * the end (the whole of /usr, once).  So its peak must not grow with
 * the tree: from 121 directories to 9,841 it grows by less than the
 * larger tree's names and status buffers would take.
 */
static void
lsr_memory_does_not_grow_with_the_tree(void **state)
{
	char top[] = "/tmp/msgport-branchy-XXXXXX", small[4096], big[4096];
	long long grown, held = 9841LL * 3 * (151 + sizeof(struct stat));

	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip();			/* their allocators keep what is freed */
#endif
	assert_non_null(mkdtemp(top));
	tree_dir(top, "small", small);
	tree_dir(top, "big", big);
	branchy(small, 4);
	branchy(big, 8);
	grown = lsr_peak(big) - lsr_peak(small);
	print_message("lsr's peak grew by %lld KiB (the tree would hold %lld KiB)\n", grown / 1024,
	    held / 1024);
	tree_remove(top);
	assert_true(grown < held);
}

static int
setup(void **state)
{
	(void)state;
	root = tree_make();
	deep = tree_make_deep();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tree_remove(root);
	tree_remove(deep);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(du_sync_matches_find),
		cmocka_unit_test(du_matches_find_in_every_mode),
		cmocka_unit_test(du_a_lists_the_same_entries),
		cmocka_unit_test(lsr_matches_its_twin_in_every_mode),
		cmocka_unit_test(lsr_sync_lists_every_entry_once),
		cmocka_unit_test(lsr_memory_does_not_grow_with_the_tree),
		/* paths longer than PATH_MAX */
		cmocka_unit_test(deep_du_matches_find),
		cmocka_unit_test(deep_du_a_lists_what_find_lists),
		cmocka_unit_test(deep_lsr_matches_its_twin_and_find),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
