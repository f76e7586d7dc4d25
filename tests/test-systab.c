/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the command table is checked at every start, so a command
 * added without all it needs fails loudly: every entry of the real table
 * passes, and an entry with no handler, handlers its flags do not allow,
 * argument slots outside its message, a hole among them or a slot of the
 * wrong size is refused with the reason.  The table says which slots a
 * slate may feed: a descriptor or number, never a pointer.
 */
#include <stddef.h>
#include <string.h>

#include "kputil.h"
#include "msgport-slate.h"
#include "systab-internal.h"

static int run_ok(msg_t *m) { (void)m; return 0; }
static int fd_ok(msg_t *m, short *ev) { (void)m; *ev = KEV_READ; return 0; }

struct sys_two { msg_t hdr; int fd; void *buf; };

/* A good entry to spoil. */
static struct kcmd
good(void)
{
	struct kcmd kc = {
		.kc_name = "two", .kc_size = sizeof(struct sys_two), .kc_flags = KC_BLOCKS,
		.kc_run = run_ok, .kc_try = run_ok,
		.kc_args = {
			{ offsetof(struct sys_two, fd), sizeof(int), KA_FD },
			{ offsetof(struct sys_two, buf), sizeof(void *), KA_OUT },
		},
	};

	return kc;
}

static void
the_real_table_is_whole(void **s)
{
	uint32_t cmd;

	(void)s;
	assert_int_equal(mp_systab_check(), 0);
	for (cmd = 1; cmd < KCMD_MAX; cmd++) {
		assert_non_null(mp_systab[cmd].kc_name);
		assert_null(mp_systab_fault(&mp_systab[cmd]));
	}
	assert_non_null(mp_systab_fault(&(struct kcmd){ 0 }));	/* an empty entry */
}

static void
a_malformed_entry_is_named(void **s)
{
	struct kcmd kc;

	(void)s;
	kc = good();
	assert_null(mp_systab_fault(&kc));

	kc = good(); kc.kc_run = NULL;
	assert_string_equal(mp_systab_fault(&kc), "no name or no kc_run");
	kc = good(); kc.kc_size = 4;
	assert_string_equal(mp_systab_fault(&kc), "kc_size below a header's");
	kc = good(); kc.kc_flags |= KC_POLLABLE;
	assert_string_equal(mp_systab_fault(&kc), "KC_POLLABLE without kc_try and kc_fd");
	kc = good(); kc.kc_flags |= KC_POLLABLE; kc.kc_fd = fd_ok;
	assert_null(mp_systab_fault(&kc));
	kc = good(); kc.kc_flags = 0;
	assert_string_equal(mp_systab_fault(&kc), "an executor's handler, but not KC_BLOCKS");
	kc = good(); kc.kc_flags |= KC_NOINTR; kc.kc_intr = run_ok;
	assert_string_equal(mp_systab_fault(&kc), "KC_NOINTR with kc_intr");

	kc = good(); kc.kc_args[1].ka_off = sizeof(struct sys_two);
	assert_string_equal(mp_systab_fault(&kc), "an argument outside the message");
	kc = good(); kc.kc_args[0].ka_off = 0;
	assert_string_equal(mp_systab_fault(&kc), "an argument outside the message");
	kc = good(); kc.kc_args[2] = kc.kc_args[1]; memset(&kc.kc_args[1], 0, sizeof(kc.kc_args[1]));
	assert_string_equal(mp_systab_fault(&kc), "a hole in kc_args");
	kc = good(); kc.kc_args[0].ka_size = 2;
	assert_string_equal(mp_systab_fault(&kc), "an argument of the wrong kind or size");
	kc = good(); kc.kc_args[1].ka_size = 4;
	assert_string_equal(mp_systab_fault(&kc), "an argument of the wrong kind or size");
	kc = good(); kc.kc_args[1].ka_kind = 9;
	assert_string_equal(mp_systab_fault(&kc), "an argument of the wrong kind or size");
	kc = good(); kc.kc_args[3].ka_kind = KA_INT;
	assert_string_equal(mp_systab_fault(&kc), "an argument slot without a size");
}

/* A slate's refusals follow the table's kinds (no list of its own). */
static void
slates_feed_what_the_table_says(void **s)
{
	struct slate_entry ent[2];
	struct slate_opts o;
	struct sys_slate sl;
	struct sys_pread pr;
	char buf[8];
	int k;

	(void)s;
	prep_pread(&pr, 0, buf, sizeof(buf), 0);
	for (k = 0; k < KARGS; k++) {
		const struct karg *ka = &mp_systab[KCMD_PREAD].kc_args[k];
		bool fed = ka->ka_kind == KA_INT || ka->ka_kind == KA_FD;

		assert_int_equal(slate_init(&sl, ent, 2, (int64_t[2]){ 0 }, 2), 0);
		memset(&o, 0, sizeof(o));
		o.inarg[0] = (uint8_t)k;
		o.inreg[0] = 1;
		assert_int_equal(slate_add(&sl, &pr.hdr, sizeof(pr), &o), fed ? 0 : EINVAL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_real_table_is_whole),
		cmocka_unit_test(a_malformed_entry_is_named),
		cmocka_unit_test(slates_feed_what_the_table_says),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
