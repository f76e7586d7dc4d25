/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: bad slates get clear errors and run nothing.  At record
 * time (slate_add) and again at run time (after the user changed an
 * entry behind slate_add's back): unknown commands (ENOSYS), wrong sizes,
 * registers out of range, pointer argument slots, guards naming this or
 * a later entry (the only way to write a cycle), unknown guards and
 * flags, slates inside slates, persistent messages (EINVAL), in-flight
 * messages (EBUSY), NULL messages (EFAULT), oversized slates (E2BIG), a
 * full slate (ENOSPC), a wrong msgsize for the slate itself (EINVAL);
 * entry and register arrays and entry messages in unmapped or read-only
 * pages (EFAULT, never a crash).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>

#include "kputil.h"
#include "msgport-slate.h"

#define NE 8

static struct sys_slate sl;
static struct slate_entry ent[NE];
static int64_t regs[4];
static struct sys_getpid gp;
static struct sys_close cl;
static struct slate_opts o;

static int
run(void)
{
	return sendsys(sysport(), &sl.hdr, sizeof(sl));
}

/* A good two-entry slate: getpid -> r1, close(r1) guarded by entry 0. */
static void
good(void)
{
	assert_int_equal(slate_init(&sl, ent, NE, regs, 4), 0);
	prep_getpid(&gp);
	prep_close(&cl, -1);
	memset(&o, 0, sizeof(o));
	o.out = 1;
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), &o), 0);
	memset(&o, 0, sizeof(o));
	o.guard = SLATE_IFFAIL, o.ga = 0;
	o.inarg[0] = 0, o.inreg[0] = 1;
	assert_int_equal(slate_add(&sl, &cl.hdr, sizeof(cl), &o), 0);
	assert_int_equal(slate_check(&sl), 0);
	assert_int_equal(run(), 0);
	memset(&o, 0, sizeof(o));
}

/* slate_add refuses opts with error; the slate is unchanged and runs. */
static void
add_refused(msg_t *m, size_t size, int error)
{
	uint32_t n = sl.sl_n;

	assert_int_equal(slate_add(&sl, m, size, &o), error);
	assert_int_equal(sl.sl_n, n);
	assert_int_equal(slate_check(&sl), 0);
	memset(&o, 0, sizeof(o));
}

/* Breaking entry 1 makes the run fail with error; nothing runs. */
static void
run_refused(int error)
{
	gp.hdr.ms_result = 12345;
	assert_int_equal(slate_check(&sl), error);
	assert_int_equal(run(), error);
	assert_int_equal(sl.hdr.ms_error, error);
	assert_int_equal(sl.hdr.ms_result, 0);
	assert_int_equal(gp.hdr.ms_result, 12345);	/* entry 0 did not run */
	assert_true(kp_flags(&sl.hdr) & MSGF_DONE);
	assert_false(kp_flags(&sl.hdr) & MSGF_INFLIGHT);
	/* asynchronous: refused at once, never returned to a port */
	sl.hdr.ms_flags |= MSGF_ASYNC;
	assert_int_equal(run(), error);
	sl.hdr.ms_flags &= ~MSGF_ASYNC;
	/* in parallel the same */
	sl.sl_flags |= SLATE_PARALLEL;
	assert_int_equal(run(), error);
	sl.sl_flags &= ~SLATE_PARALLEL;
}

static void
commands(void **s)
{
	struct sys_slate inner;
	struct sys_nanosleep ns;
	struct sys_getpid x;

	(void)s;
	good();
	prep_getpid(&x);
	x.hdr.ms_cmd = 0;
	add_refused(&x.hdr, sizeof(x), ENOSYS);
	x.hdr.ms_cmd = KCMD_MAX;
	add_refused(&x.hdr, sizeof(x), ENOSYS);
	x.hdr.ms_cmd = 0xffffffffu;
	add_refused(&x.hdr, sizeof(x), ENOSYS);
	x.hdr.ms_cmd = KCMD_GETPID;
	add_refused(&x.hdr, sizeof(x) + 1, EINVAL);
	add_refused(&x.hdr, sizeof(x) - 1, EINVAL);
	add_refused(&x.hdr, (size_t)1 << 40, EINVAL);
	add_refused(NULL, sizeof(gp), EFAULT);
	/* a slate inside a slate */
	assert_int_equal(slate_init(&inner, NULL, 0, NULL, 0), 0);
	add_refused(&inner.hdr, sizeof(inner), EINVAL);
	add_refused(&sl.hdr, sizeof(sl), EINVAL);
	/* persistent and in-flight messages */
	prep_nanosleep(&ns, &(struct timespec){ 0, 1 }, NULL);
	ns.hdr.ms_flags |= MSGF_PERSISTENT;
	add_refused(&ns.hdr, sizeof(ns), EINVAL);
	ns.hdr.ms_flags = MSGF_INFLIGHT;
	add_refused(&ns.hdr, sizeof(ns), EBUSY);

	/* the same found at run time */
	cl.hdr.ms_cmd = 999;
	run_refused(ENOSYS);
	cl.hdr.ms_cmd = KCMD_SLATE;
	run_refused(EINVAL);
	cl.hdr.ms_cmd = KCMD_CLOSE;
	ent[1].se_size++;
	run_refused(EINVAL);
	ent[1].se_size--;
	ent[1].se_msg = NULL;
	run_refused(EFAULT);
	ent[1].se_msg = &cl.hdr;
	cl.hdr.ms_flags = MSGF_PERSISTENT;
	run_refused(EINVAL);
	cl.hdr.ms_flags = MSGF_INFLIGHT;
	run_refused(EBUSY);
	cl.hdr.ms_flags = 0;
	assert_int_equal(run(), 0);
}

static void
registers(void **s)
{
	(void)s;
	good();
	o.out = 4;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.out = 255;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.inarg[0] = 0, o.inreg[0] = 4;
	add_refused(&cl.hdr, sizeof(cl), EINVAL);
	o.inarg[1] = 0, o.inreg[1] = 9;
	add_refused(&cl.hdr, sizeof(cl), EINVAL);
	/* close has one argument; getpid none */
	o.inarg[0] = 1, o.inreg[0] = 1;
	add_refused(&cl.hdr, sizeof(cl), EINVAL);
	o.inarg[0] = 0, o.inreg[0] = 1;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.inarg[0] = 200, o.inreg[0] = 1;
	add_refused(&cl.hdr, sizeof(cl), EINVAL);

	/* pointer slots are never fed: read's buf (slot 1) */
	{
		struct sys_read rd;
		char b[4];

		prep_read(&rd, 0, b, sizeof(b));
		o.inarg[0] = 1, o.inreg[0] = 1;
		add_refused(&rd.hdr, sizeof(rd), EINVAL);
		o.inarg[0] = 2, o.inreg[0] = 1;		/* count is fine */
		assert_int_equal(slate_add(&sl, &rd.hdr, sizeof(rd), &o), 0);
		sl.sl_n--;
		memset(&o, 0, sizeof(o));
	}

	/* at run time */
	ent[1].se_inreg[0] = 4;
	run_refused(EINVAL);
	ent[1].se_inreg[0] = 1;
	ent[1].se_inarg[0] = 1;
	run_refused(EINVAL);
	ent[1].se_inarg[0] = 0;
	ent[0].se_out = 200;
	run_refused(EINVAL);
	ent[0].se_out = 1;
	/* fewer registers than the entries use */
	sl.sl_nregs = 1;
	run_refused(EINVAL);
	sl.sl_nregs = SLATE_MAXREGS + 1;
	run_refused(E2BIG);
	sl.sl_nregs = 4;
	sl.sl_regs = NULL;
	run_refused(EFAULT);
	sl.sl_regs = regs;
	assert_int_equal(run(), 0);
}

static void
guards(void **s)
{
	(void)s;
	good();
	/* naming this entry (2) or a later one: a cycle */
	o.guard = SLATE_IFOK, o.ga = 2;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_IFFAIL, o.ga = 7;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_IFOK, o.ga = 0xffffffffu;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_IFOK | SLATE_GREG, o.ga = 0;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_ALWAYS | SLATE_GREG;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_NGUARDS;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = 0x7f;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_IFEQ, o.ga = 4;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_IFEQ | SLATE_GREG, o.ga = 1, o.gb = 4;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.guard = SLATE_IFEQ | SLATE_GREG, o.ga = 1, o.gb = -1;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);
	o.flags = 0x80;
	add_refused(&gp.hdr, sizeof(gp), EINVAL);

	/* at run time: entry 1's guard turned on itself, then forward */
	ent[1].se_ga = 1;
	run_refused(EINVAL);
	ent[1].se_ga = 5;
	run_refused(EINVAL);
	ent[1].se_ga = 0;
	ent[1].se_guard = 99;
	run_refused(EINVAL);
	ent[1].se_guard = SLATE_IFFAIL;
	ent[1].se_flags = 0xfe;
	run_refused(EINVAL);
	ent[1].se_flags = 0;
	sl.sl_flags = 0x100;
	run_refused(EINVAL);
	sl.sl_flags = 0;
	assert_int_equal(run(), 0);
}

static void
sizes(void **s)
{
	static struct slate_entry big[4];
	int i;

	(void)s;
	assert_int_equal(slate_init(&sl, big, SLATE_MAXENTRIES + 1, NULL, 0), E2BIG);
	assert_int_equal(slate_init(&sl, big, 4, regs, SLATE_MAXREGS + 1), E2BIG);
	assert_int_equal(slate_init(&sl, NULL, 4, NULL, 0), EINVAL);
	assert_int_equal(slate_init(&sl, big, 4, NULL, 2), EINVAL);
	assert_int_equal(slate_init(NULL, big, 4, NULL, 0), EFAULT);
	assert_int_equal(slate_check(NULL), EFAULT);

	good();
	/* full */
	assert_int_equal(slate_init(&sl, big, 4, NULL, 0), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), 0);
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), ENOSPC);
	assert_int_equal(run(), 0);
	assert_int_equal(sl.hdr.ms_result, 4);
	/* oversized at run time */
	sl.sl_cap = SLATE_MAXENTRIES + 1;
	assert_int_equal(run(), E2BIG);
	sl.sl_cap = 4;
	sl.sl_n = 5;
	assert_int_equal(run(), EINVAL);
	sl.sl_n = 0xffffffffu;
	assert_int_equal(run(), E2BIG);
	sl.sl_n = 4;
	sl.sl_ent = NULL;
	assert_int_equal(run(), EFAULT);
	sl.sl_ent = big;
	/* the slate message itself */
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl) - 8), EINVAL);
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(msg_t)), EINVAL);
	assert_int_equal(slate_run_until(NULL, NULL), EFAULT);
	assert_int_equal(slate_add(NULL, &gp.hdr, sizeof(gp), NULL), EFAULT);
	assert_int_equal(run(), 0);
}

/* Memory the library reads and writes itself, at addresses that fault:
   EFAULT at record and at run time, an earlier entry's error first. */
static void
wild_memory(void **s)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	char *ro = map, *none = map + pg;

	(void)s;
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(ro, (size_t)pg, PROT_READ), 0);
	assert_int_equal(mprotect(none, (size_t)pg, PROT_NONE), 0);

	assert_int_equal(slate_init(&sl, (struct slate_entry *)none, 4, NULL, 0), 0);
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), EFAULT);
	assert_int_equal(sl.sl_n, 0);
	assert_int_equal(slate_init(&sl, (struct slate_entry *)ro, 4, NULL, 0), 0);
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), EFAULT);

	good();
	sl.sl_ent = (struct slate_entry *)none;			/* entries unmapped */
	assert_int_equal(run(), EFAULT);
	assert_int_equal(slate_check(&sl), EFAULT);
	sl.sl_ent = (struct slate_entry *)none - 1;		/* the second one */
	assert_int_equal(run(), EFAULT);
	sl.sl_ent = (struct slate_entry *)ro;			/* read-only */
	assert_int_equal(run(), EFAULT);
	sl.sl_ent = ent;
	sl.sl_regs = (int64_t *)none;				/* registers */
	assert_int_equal(run(), EFAULT);
	sl.sl_regs = (int64_t *)none - 1;
	assert_int_equal(run(), EFAULT);
	sl.sl_regs = regs;
	assert_int_equal(run(), 0);

	ent[1].se_msg = (msg_t *)none;				/* a message */
	assert_int_equal(run(), EFAULT);
	ent[1].se_msg = (msg_t *)(none - sizeof(msg_t) / 2);	/* half of one */
	assert_int_equal(run(), EFAULT);
	ent[0].se_size = 1;					/* an earlier error first */
	assert_int_equal(run(), EINVAL);
	ent[0].se_size = sizeof(gp);
	sl.sl_flags |= SLATE_PARALLEL;
	assert_int_equal(run(), EFAULT);
	sl.sl_flags &= ~SLATE_PARALLEL;
	ent[1].se_msg = &cl.hdr;
	assert_int_equal(run(), 0);
	munmap(map, (size_t)pg * 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands),
		cmocka_unit_test(registers),
		cmocka_unit_test(guards),
		cmocka_unit_test(sizes),
		cmocka_unit_test(wild_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
