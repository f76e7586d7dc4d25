/*
 * Description: the tree walks agree with find and with each other on a
 * real tree: totals, entry counts, listings, and errors reported like
 * coreutils (stderr, exit status 1, the rest still counted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "treeutil.h"

static char *root;

/* find's view, as nobody too: the sum of sizes and the number of entries. */
static void
find_totals(long long *bytes, long long *entries)
{
	char *argv[] = { "/usr/bin/find", root, "-mindepth", "1", "-printf", "%s\\n", NULL };
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
	assert_int_equal(sscanf(out, "%lld\t%lld", &bytes, &entries), 2);
	/* 8 x (dirN, 40 files, sub, its named file, deeper, leaf); 5 at the top (locked counted, its file not) */
	assert_int_equal(entries, 8 * 45 + 5);
	free(out);
	free(err);
}

static void
du_sync_matches_find(void **state)
{
	(void)state;
	check_du("examples/du/du-sync");
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

static int
setup(void **state)
{
	(void)state;
	root = tree_make();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tree_remove(root);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(du_sync_matches_find),
		cmocka_unit_test(lsr_sync_lists_every_entry_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
