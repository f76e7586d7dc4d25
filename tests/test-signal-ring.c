/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: more signal occurrences in transit than the ring between
 * the handlers and the signal thread holds (KSIG_RING).  With the drain
 * held off (mp_ksignal_hold(), an internal hook: this program links the
 * static library), a storm from a child fills the ring; the occurrences
 * that find it full lose their info but are still counted, so the
 * message reports every one of them, infos oldest first, and
 * ms_count == ninfo + dropped.  (Those without info are counted after
 * the ring is drained, so a return may carry only them: ninfo 0.)
 */
#define _GNU_SOURCE
#include <stdbool.h>

#include "persistutil.h"
#include "kport-internal.h"

#define STORM_SIG	(SIGRTMIN + 1)

static void
ring_overflow_is_counted(void **s)
{
	enum { N = KSIG_RING + 1000, QMAX = SIGMSG_QMAX };
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	uint64_t total = 0;
	uint32_t i;
	pid_t pid;

	(void)s;
	prep_signal(&m, STORM_SIG, rp);
	m.qmax = QMAX;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);

	mp_ksignal_hold(true);
	pid = ps_child_queue(STORM_SIG, 0, N, 0);
	ps_reap(pid);			/* every handler has run: all in transit */
	assert_null(getport(rp));	/* nothing drained them */
	mp_ksignal_hold(false);

	/* the first occurrence returns it; the rest come while it is held */
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	ps_assert_occurrence(&m.hdr);
	if (PS_EXACT_SIGNALS) {
		assert_int_equal(m.hdr.ms_count, 1);
		assert_int_equal(m.info[0].sg_value.sival_int, 0);
	}
	total += m.hdr.ms_count;
	assert_int_equal(rearmsys(&m.hdr), 0);
	while (PS_EXACT_SIGNALS && total < N) {
		assert_int_equal(ps_take(rp, &m.hdr), 0);
		ps_assert_occurrence(&m.hdr);
		/* a return may hold only occurrences that found the ring full */
		assert_true(m.ninfo <= (m.hdr.ms_count < QMAX ? m.hdr.ms_count : QMAX));
		assert_int_equal(m.dropped, m.hdr.ms_count - m.ninfo);
		for (i = 0; i < m.ninfo; i++)
			assert_int_equal(m.info[i].sg_value.sival_int, (int)(total + i));
		total += m.hdr.ms_count;
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	total += ps_abort(rp, &m.hdr);
	if (PS_EXACT_SIGNALS)
		assert_int_equal(total, N);
	else
		assert_true(total >= 1 && total <= N);	/* the sanitizer folds repeats */
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_overflow_is_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
