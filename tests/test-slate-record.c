/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a slate recorded once and run again and again, on real
 * files: open -> fstat -> read -> close with the descriptor carried in a
 * register; re-run after changing the path buffer; recording while
 * executing; an asynchronous run returned to its reply port; re-runs
 * leave no descriptor behind.
 */
#define _GNU_SOURCE
#include <fcntl.h>

#include "kputil.h"
#include "msgport-slate.h"

enum { R_FD = 1, R_N = 2, NREGS = 4 };

/* The program: r1 = open(path); fstat(r1); r2 = read(r1); close(r1). */
struct prog {
	struct sys_slate sl;
	struct slate_entry ent[4];
	int64_t regs[NREGS];
	char path[256];
	char buf[64];
	struct stat st;
	struct sys_openat op;
	struct sys_fstat fs;
	struct sys_read rd;
	struct sys_close cl;
};

static void
prog_record(struct prog *p)
{
	struct slate_opts o;

	assert_int_equal(slate_init(&p->sl, p->ent, 4, p->regs, NREGS), 0);
	prep_open(&p->op, p->path, O_RDONLY, 0);
	memset(&o, 0, sizeof(o));
	o.out = R_FD;
	o.flags = SLATE_STOP;
	assert_int_equal(slate_add(&p->sl, &p->op.hdr, sizeof(p->op), &o), 0);

	prep_fstat(&p->fs, -1, &p->st);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0, o.inreg[0] = R_FD;
	assert_int_equal(slate_add(&p->sl, &p->fs.hdr, sizeof(p->fs), &o), 0);

	prep_read(&p->rd, -1, p->buf, sizeof(p->buf) - 1);
	memset(&o, 0, sizeof(o));
	o.out = R_N;
	o.inarg[0] = 0, o.inreg[0] = R_FD;
	assert_int_equal(slate_add(&p->sl, &p->rd.hdr, sizeof(p->rd), &o), 0);

	prep_close(&p->cl, -1);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0, o.inreg[0] = R_FD;
	assert_int_equal(slate_add(&p->sl, &p->cl.hdr, sizeof(p->cl), &o), 0);
	assert_int_equal(p->sl.sl_n, 4);
}

/* The run found name holding text: every entry ran, the fd is closed. */
static void
check_run(struct prog *p, int r, const char *name, const char *text)
{
	struct stat st;
	int i;

	assert_int_equal(r, 0);
	assert_int_equal(p->sl.hdr.ms_error, 0);
	assert_int_equal(p->sl.hdr.ms_result, 4);
	assert_int_equal(p->sl.sl_stopped, -1);
	for (i = 0; i < 4; i++) {
		assert_int_equal(p->ent[i].se_status, SLATE_RAN);
		assert_int_equal(p->ent[i].se_msg->ms_error, 0);
	}
	assert_true(p->regs[R_FD] >= 0);
	assert_int_equal(p->op.hdr.ms_result, p->regs[R_FD]);
	assert_int_equal(p->fs.fd, p->regs[R_FD]);	/* the register fed the argument */
	assert_int_equal(p->cl.fd, p->regs[R_FD]);
	assert_int_equal(p->regs[R_N], (int64_t)strlen(text));
	assert_memory_equal(p->buf, text, strlen(text));
	assert_int_equal(stat(name, &st), 0);
	assert_int_equal(p->st.st_ino, st.st_ino);
	assert_int_equal(p->st.st_size, (off_t)strlen(text));
	/* closed by the slate */
	assert_int_equal(fcntl((int)p->regs[R_FD], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

static void
open_fstat_read_close(void **s)
{
	char dir[256];
	struct prog *p = calloc(1, sizeof(*p));
	int i, r;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	kp_mkfile("one", "the first file\n");
	kp_mkfile("two", "and a second, longer one\n");
	prog_record(p);

	strcpy(p->path, "one");
	r = sendsys(sysport(), &p->sl.hdr, sizeof(p->sl));
	check_run(p, r, "one", "the first file\n");

	/* the slate reads the path buffer at each run */
	for (i = 0; i < 100; i++) {
		strcpy(p->path, i % 2 ? "one" : "two");
		memset(p->buf, 0, sizeof(p->buf));
		r = sendsys(sysport(), &p->sl.hdr, sizeof(p->sl));
		check_run(p, r, p->path, i % 2 ? "the first file\n" : "and a second, longer one\n");
	}

	/* a missing file: open fails, SLATE_STOP stops the rest */
	strcpy(p->path, "none");
	r = sendsys(sysport(), &p->sl.hdr, sizeof(p->sl));
	assert_int_equal(r, ENOENT);
	assert_int_equal(p->sl.hdr.ms_error, ENOENT);
	assert_int_equal(p->sl.hdr.ms_result, 1);
	assert_int_equal(p->sl.sl_stopped, 0);
	assert_int_equal(p->regs[R_FD], -1);
	assert_int_equal(p->ent[0].se_status, SLATE_RAN);
	assert_int_equal(p->op.hdr.ms_error, ENOENT);
	for (i = 1; i < 4; i++) {
		assert_int_equal(p->ent[i].se_status, SLATE_STOPPED);
		assert_int_equal(p->ent[i].se_msg->ms_error, ECANCELED);
		assert_int_equal(p->ent[i].se_msg->ms_result, -1);
	}

	/* and works again */
	strcpy(p->path, "two");
	r = sendsys(sysport(), &p->sl.hdr, sizeof(p->sl));
	check_run(p, r, "two", "and a second, longer one\n");

	kp_rmtree(dir);
	free(p);
}

static void
async_run(void **s)
{
	char dir[256];
	struct prog *p = calloc(1, sizeof(*p));
	msgport_t *rp = mkport_queue();
	int i, r;

	(void)s;
	assert_non_null(rp);
	kp_tmpdir(dir, sizeof(dir));
	kp_mkfile("one", "asynchronous\n");
	prog_record(p);
	strcpy(p->path, "one");
	prep_async(&p->sl.hdr, rp);
	for (i = 0; i < 50; i++) {
		memset(p->buf, 0, sizeof(p->buf));
		r = sendsys(sysport(), &p->sl.hdr, sizeof(p->sl));
		assert_int_equal(r, EASYNC);
		assert_int_equal(waitsys(rp, &p->sl.hdr), 0);
		assert_null(getport(rp));
		assert_true(kp_flags(&p->sl.hdr) & MSGF_DONE);
		assert_false(kp_flags(&p->sl.hdr) & MSGF_INFLIGHT);
		check_run(p, p->sl.hdr.ms_error, "one", "asynchronous\n");
	}
	assert_int_equal(rmport(rp), 0);
	kp_rmtree(dir);
	free(p);
}

/* Recording while executing: each call runs as it is recorded. */
static void
record_exec(void **s)
{
	char dir[256], buf[64];
	struct sys_slate sl;
	struct slate_entry ent[4];
	int64_t regs[NREGS] = { 0 };
	struct sys_openat op;
	struct sys_lseek ls;
	struct sys_read rd;
	struct sys_close cl;
	struct slate_opts o;
	int fd;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	kp_mkfile("f", "0123456789");
	assert_int_equal(slate_init(&sl, ent, 4, regs, NREGS), 0);

	prep_open(&op, "f", O_RDONLY, 0);
	memset(&o, 0, sizeof(o));
	o.out = R_FD;
	assert_int_equal(slate_record_exec(&sl, &op.hdr, sizeof(op), &o), 0);
	fd = (int)regs[R_FD];
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD), 0);	/* really open now */
	assert_int_equal(ent[0].se_status, SLATE_RAN);

	prep_lseek(&ls, -1, 4, SEEK_SET);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0, o.inreg[0] = R_FD;
	assert_int_equal(slate_record_exec(&sl, &ls.hdr, sizeof(ls), &o), 0);
	assert_int_equal(ls.hdr.ms_result, 4);

	memset(buf, 0, sizeof(buf));
	prep_read(&rd, -1, buf, 3);
	memset(&o, 0, sizeof(o));
	o.out = R_N;
	o.inarg[0] = 0, o.inreg[0] = R_FD;
	assert_int_equal(slate_record_exec(&sl, &rd.hdr, sizeof(rd), &o), 0);
	assert_string_equal(buf, "456");
	assert_int_equal(regs[R_N], 3);

	prep_close(&cl, -1);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0, o.inreg[0] = R_FD;
	assert_int_equal(slate_record_exec(&sl, &cl.hdr, sizeof(cl), &o), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(sl.sl_n, 4);

	/* the recording replays: same result from a fresh open */
	memset(buf, 0, sizeof(buf));
	regs[R_FD] = regs[R_N] = 0;
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_string_equal(buf, "456");
	assert_int_equal(regs[R_N], 3);
	assert_true(regs[R_FD] >= 0);
	assert_int_equal(fcntl((int)regs[R_FD], F_GETFD), -1);

	/* a failing call is recorded and reports its errno */
	assert_int_equal(slate_init(&sl, ent, 4, regs, NREGS), 0);
	prep_open(&op, "missing", O_RDONLY, 0);
	assert_int_equal(slate_record_exec(&sl, &op.hdr, sizeof(op), NULL), ENOENT);
	assert_int_equal(sl.sl_n, 1);
	assert_int_equal(op.hdr.ms_error, ENOENT);
	kp_rmtree(dir);
}

/* Registers stay the user's between runs; regs[0] is never written. */
static void
zero_register(void **s)
{
	struct sys_slate sl;
	struct slate_entry ent[2];
	int64_t regs[3] = { 77, 0, 0 };
	struct sys_getpid gp;
	struct sys_kill k;
	struct slate_opts o;

	(void)s;
	assert_int_equal(slate_init(&sl, ent, 2, regs, 3), 0);
	prep_getpid(&gp);
	memset(&o, 0, sizeof(o));
	o.out = 2;
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), &o), 0);
	/* kill(r2, r0): signal 0 to ourselves, the pid from getpid */
	prep_kill(&k, 1, 9);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0, o.inreg[0] = 2;
	o.inarg[1] = 1, o.inreg[1] = 0;		/* register 0 as an input: none */
	assert_int_equal(slate_add(&sl, &k.hdr, sizeof(k), &o), 0);
	k.sig = 0;
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(regs[2], getpid());
	assert_int_equal(k.pid, getpid());
	assert_int_equal(k.sig, 0);
	assert_int_equal(regs[0], 77);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_fstat_read_close),
		cmocka_unit_test(async_run),
		cmocka_unit_test(record_exec),
		cmocka_unit_test(zero_register),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
