/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: guards and stopping.  Entries run only if an earlier one
 * succeeded or failed, or if a register compares (==, !=, <, >=) to a
 * literal or to another register; skipped entries keep their registers;
 * a failing entry with SLATE_STOP, or any failing entry of a
 * SLATE_STOPFAIL slate, stops the rest.  Every case also runs in
 * parallel, where the outcome must be the same.
 */
#define _GNU_SOURCE
#include <fcntl.h>

#include "kputil.h"
#include "msgport-slate.h"

#define NE 16

struct t {
	struct sys_slate sl;
	struct slate_entry ent[NE];
	int64_t regs[8];
	struct sys_getpid gp[NE];
	struct sys_openat op[NE];
	struct sys_close cl[NE];
	unsigned ngp, nop, ncl;
};

static struct t *
t_new(uint32_t flags)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_int_equal(slate_init(&t->sl, t->ent, NE, t->regs, 8), 0);
	t->sl.sl_flags = flags;
	return t;
}

static struct slate_opts
opts(uint8_t out, uint8_t flags, uint8_t guard, uint32_t ga, int64_t gb)
{
	struct slate_opts o;

	memset(&o, 0, sizeof(o));
	o.out = out, o.flags = flags, o.guard = guard, o.ga = ga, o.gb = gb;
	return o;
}

/* Add getpid: succeeds; its result is our pid. */
static void
add_getpid(struct t *t, struct slate_opts o)
{
	struct sys_getpid *m = &t->gp[t->ngp++];

	prep_getpid(m);
	assert_int_equal(slate_add(&t->sl, &m->hdr, sizeof(*m), &o), 0);
}

/* Add open(path): fails with ENOENT for a missing path. */
static void
add_open(struct t *t, const char *path, struct slate_opts o)
{
	struct sys_openat *m = &t->op[t->nop++];

	prep_open(m, path, O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(slate_add(&t->sl, &m->hdr, sizeof(*m), &o), 0);
}

static void
add_close(struct t *t, uint8_t reg, struct slate_opts o)
{
	struct sys_close *m = &t->cl[t->ncl++];

	prep_close(m, -1);
	o.inarg[0] = 0, o.inreg[0] = reg;
	assert_int_equal(slate_add(&t->sl, &m->hdr, sizeof(*m), &o), 0);
}

static int
run(struct t *t)
{
	return sendsys(sysport(), &t->sl.hdr, sizeof(t->sl));
}

static void
st_is(struct t *t, unsigned i, int status)
{
	if (t->ent[i].se_status != status)
		fail_msg("entry %u: status %d, wanted %d", i, t->ent[i].se_status, status);
}

static void
guards_on_entries(uint32_t flags)
{
	struct t *t = t_new(flags);
	int r;

	add_open(t, "/", opts(1, 0, 0, 0, 0));			/* 0: ok, r1 = fd */
	add_open(t, "/nonexistent/x", opts(2, 0, 0, 0, 0));	/* 1: fails, r2 = -1 */
	add_getpid(t, opts(3, 0, SLATE_IFOK, 0, 0));		/* 2: runs */
	add_getpid(t, opts(4, 0, SLATE_IFFAIL, 0, 0));		/* 3: skipped */
	add_getpid(t, opts(5, 0, SLATE_IFOK, 1, 0));		/* 4: skipped */
	add_getpid(t, opts(6, 0, SLATE_IFFAIL, 1, 0));		/* 5: runs */
	add_getpid(t, opts(7, 0, SLATE_IFOK, 3, 0));		/* 6: skipped: 3 did not run */
	add_getpid(t, opts(0, 0, SLATE_IFFAIL, 3, 0));		/* 7: skipped: 3 did not run */
	add_close(t, 1, opts(0, 0, SLATE_IFOK, 0, 0));		/* 8: closes r1 */
	t->regs[4] = t->regs[5] = t->regs[7] = 1234;
	r = run(t);
	assert_int_equal(r, 0);
	assert_int_equal(t->sl.hdr.ms_result, 5);
	st_is(t, 0, SLATE_RAN);
	st_is(t, 1, SLATE_RAN);
	st_is(t, 2, SLATE_RAN);
	st_is(t, 3, SLATE_SKIPPED);
	st_is(t, 4, SLATE_SKIPPED);
	st_is(t, 5, SLATE_RAN);
	st_is(t, 6, SLATE_SKIPPED);
	st_is(t, 7, SLATE_SKIPPED);
	st_is(t, 8, SLATE_RAN);
	assert_int_equal(t->op[1].hdr.ms_error, ENOENT);
	assert_int_equal(t->regs[2], -1);
	assert_int_equal(t->regs[3], getpid());
	assert_int_equal(t->regs[6], getpid());
	/* skipped entries leave their registers alone and say ECANCELED */
	assert_int_equal(t->regs[4], 1234);
	assert_int_equal(t->regs[5], 1234);
	assert_int_equal(t->regs[7], 1234);
	assert_int_equal(t->gp[1].hdr.ms_error, ECANCELED);
	assert_int_equal(t->gp[1].hdr.ms_result, -1);
	assert_int_equal(t->cl[0].hdr.ms_error, 0);
	assert_int_equal(fcntl((int)t->regs[1], F_GETFD), -1);
	free(t);
}

static void
entries_inorder(void **s) { (void)s; guards_on_entries(0); }
static void
entries_parallel(void **s) { (void)s; guards_on_entries(SLATE_PARALLEL); }

static void
guards_on_registers(uint32_t flags)
{
	struct t *t = t_new(flags);
	int64_t pid = getpid();
	int r;

	add_getpid(t, opts(1, 0, 0, 0, 0));			/* 0: r1 = pid */
	add_getpid(t, opts(2, 0, SLATE_IFEQ, 1, pid));		/* 1: runs */
	add_getpid(t, opts(2, 0, SLATE_IFNE, 1, pid));		/* 2: skipped */
	add_getpid(t, opts(3, 0, SLATE_IFLT, 1, pid + 1));	/* 3: runs */
	add_getpid(t, opts(3, 0, SLATE_IFLT, 1, pid));		/* 4: skipped */
	add_getpid(t, opts(4, 0, SLATE_IFGE, 1, pid));		/* 5: runs */
	add_getpid(t, opts(4, 0, SLATE_IFGE, 1, pid + 1));	/* 6: skipped */
	/* register against register: r5 preset by the user */
	add_getpid(t, opts(6, 0, SLATE_IFEQ | SLATE_GREG, 1, 5));	/* 7 */
	add_getpid(t, opts(7, 0, SLATE_IFLT | SLATE_GREG, 5, 1));	/* 8 */
	/* the zero register against a literal */
	add_getpid(t, opts(0, 0, SLATE_IFGE, 0, 1));		/* 9: 0 >= 1: skipped */
	add_getpid(t, opts(0, 0, SLATE_IFLT, 0, 1));		/* 10: 0 < 1: runs */

	t->regs[5] = pid;
	r = run(t);
	assert_int_equal(r, 0);
	st_is(t, 0, SLATE_RAN);
	st_is(t, 1, SLATE_RAN);
	st_is(t, 2, SLATE_SKIPPED);
	st_is(t, 3, SLATE_RAN);
	st_is(t, 4, SLATE_SKIPPED);
	st_is(t, 5, SLATE_RAN);
	st_is(t, 6, SLATE_SKIPPED);
	st_is(t, 7, SLATE_RAN);
	st_is(t, 8, SLATE_SKIPPED);
	st_is(t, 9, SLATE_SKIPPED);
	st_is(t, 10, SLATE_RAN);
	assert_int_equal(t->sl.hdr.ms_result, 6);

	/* change a register between runs: the other branch is taken */
	t->regs[5] = pid - 1;
	t->regs[6] = t->regs[7] = 0;
	r = run(t);
	assert_int_equal(r, 0);
	st_is(t, 7, SLATE_SKIPPED);
	st_is(t, 8, SLATE_RAN);
	assert_int_equal(t->regs[6], 0);
	assert_int_equal(t->regs[7], pid);
	free(t);
}

static void
registers_inorder(void **s) { (void)s; guards_on_registers(0); }
static void
registers_parallel(void **s) { (void)s; guards_on_registers(SLATE_PARALLEL); }

static void
stopping(uint32_t flags)
{
	struct t *t = t_new(flags);
	int r, i;

	/* a failure without SLATE_STOP goes on */
	add_getpid(t, opts(1, 0, 0, 0, 0));			/* 0 */
	add_open(t, "/nonexistent/a", opts(0, 0, 0, 0, 0));	/* 1: fails, goes on */
	add_getpid(t, opts(2, 0, 0, 0, 0));			/* 2 */
	add_open(t, "/nonexistent/b", opts(0, SLATE_STOP, 0, 0, 0));	/* 3: fails, stops */
	add_getpid(t, opts(3, 0, 0, 0, 0));			/* 4 */
	add_getpid(t, opts(4, 0, SLATE_IFFAIL, 3, 0));		/* 5 */
	t->regs[3] = t->regs[4] = 99;
	r = run(t);
	assert_int_equal(r, ENOENT);
	assert_int_equal(t->sl.sl_stopped, 3);
	assert_int_equal(t->sl.hdr.ms_result, 4);
	for (i = 0; i < 4; i++)
		st_is(t, i, SLATE_RAN);
	st_is(t, 4, SLATE_STOPPED);
	st_is(t, 5, SLATE_STOPPED);
	assert_int_equal(t->gp[2].hdr.ms_error, ECANCELED);
	assert_int_equal(t->gp[2].hdr.ms_result, -1);
	assert_int_equal(t->regs[2], getpid());
	assert_int_equal(t->regs[3], 99);
	assert_int_equal(t->regs[4], 99);

	/* the same slate with SLATE_STOPFAIL stops at the first failure */
	t->sl.sl_flags |= SLATE_STOPFAIL;
	t->regs[2] = 0;
	r = run(t);
	assert_int_equal(r, ENOENT);
	assert_int_equal(t->sl.sl_stopped, 1);
	assert_int_equal(t->sl.hdr.ms_result, 2);
	st_is(t, 0, SLATE_RAN);
	st_is(t, 1, SLATE_RAN);
	for (i = 2; i < 6; i++)
		st_is(t, i, SLATE_STOPPED);
	assert_int_equal(t->regs[2], 0);

	/* nothing fails: everything runs (entry 5's guard is false) */
	t->op[0].path = "/";
	t->op[1].path = "/";
	r = run(t);
	assert_int_equal(r, 0);
	assert_int_equal(t->sl.sl_stopped, -1);
	for (i = 0; i < 5; i++)
		st_is(t, i, SLATE_RAN);
	st_is(t, 5, SLATE_SKIPPED);
	close((int)t->op[0].hdr.ms_result);
	close((int)t->op[1].hdr.ms_result);
	free(t);
}

static void
stop_inorder(void **s) { (void)s; stopping(0); }

/*
 * In parallel, entries after the stopping one that had not started are
 * stopped; a chain through a register makes that deterministic here.
 */
static void
stop_parallel(void **s)
{
	struct t *t = t_new(SLATE_PARALLEL);
	int r, i;

	(void)s;
	add_getpid(t, opts(1, 0, 0, 0, 0));				/* 0 */
	add_open(t, "/nonexistent/b", opts(1, SLATE_STOP, 0, 0, 0));	/* 1: fails, stops */
	for (i = 2; i < 8; i++)
		add_getpid(t, opts(1, 0, 0, 0, 0));			/* after 1 via r1 */
	r = run(t);
	assert_int_equal(r, ENOENT);
	assert_int_equal(t->sl.sl_stopped, 1);
	assert_int_equal(t->sl.hdr.ms_result, 2);
	st_is(t, 0, SLATE_RAN);
	st_is(t, 1, SLATE_RAN);
	for (i = 2; i < 8; i++)
		st_is(t, i, SLATE_STOPPED);
	assert_int_equal(t->regs[1], -1);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entries_inorder),
		cmocka_unit_test(entries_parallel),
		cmocka_unit_test(registers_inorder),
		cmocka_unit_test(registers_parallel),
		cmocka_unit_test(stop_inorder),
		cmocka_unit_test(stop_parallel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
