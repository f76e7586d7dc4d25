/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the stated ABI (msgport(7), ABI): the library's version
 * is the header's and configure's, and struct sysport_attr's reserved
 * room is checked (a nonzero word is a field this library does not know:
 * EINVAL, nothing started), so it can grow without a new soname.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "msgport.h"
#include "msgport-sys.h"

static void
version_agrees(void **s)
{
	char v[32];
	uint32_t n = msgport_version();

	(void)s;
	assert_int_equal(n, MSGPORT_VERSION);
	snprintf(v, sizeof(v), "%u.%u.%u", (unsigned)(n >> 16), (unsigned)(n >> 8 & 0xff),
	    (unsigned)(n & 0xff));
	assert_string_equal(v, PACKAGE_VERSION);
}

static void
attr_reserved_words(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2 };
	size_t i, nres = sizeof(attr.sa_reserved) / sizeof(attr.sa_reserved[0]);

	(void)s;
	/* the layout is ABI: room to grow, at a fixed size */
	assert_int_equal(sizeof(struct sysport_attr), 64);
	assert_int_equal(offsetof(struct sysport_attr, sa_reserved), 16);
	for (i = 0; i < nres; i++) {
		attr.sa_reserved[i] = 1u << (i % 32);
		assert_int_equal(sysport_start(&attr), EINVAL);
		attr.sa_reserved[i] = 0;
		assert_int_equal(sysport_stop(), EINVAL);	/* nothing was started */
	}
	assert_int_equal(sysport_start(&attr), 0);
	attr.sa_reserved[nres - 1] = 0x80000000u;
	assert_int_equal(sysport_start(&attr), EINVAL);	/* EINVAL before EBUSY */
	assert_int_equal(sysport_stop(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_agrees),
		cmocka_unit_test(attr_reserved_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
