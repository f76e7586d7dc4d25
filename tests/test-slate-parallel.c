/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: parallel slates.  1,000 independent lstat()s over a real
 * tree (files, directories, symlinks, missing names) run over the worker
 * pool give the same results as the in-order run and as raw lstat();
 * chains open -> pread -> fstat -> close through registers keep their
 * order while the chains run side by side; an asynchronous parallel run
 * is returned to its reply port once; the entries really spread over
 * more than one thread; a message shared by two entries is refused.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>

#include "kputil.h"
#include "msgport-slate.h"

#define NSTAT	1000
#define NCHAIN	60

struct lst {
	struct sys_slate sl;
	struct slate_entry ent[NSTAT];
	char path[NSTAT][32];
	struct stat st[NSTAT];
	struct sys_fstatat m[NSTAT];
};

static void
make_tree(void)
{
	char name[32];
	int i, fd;

	for (i = 0; i < NSTAT; i++) {
		snprintf(name, sizeof(name), "n%04d", i);
		switch (i % 5) {
		case 0:
		case 1:
			fd = open(name, O_CREAT | O_WRONLY, 0600 | (i & 0077));
			assert_true(fd >= 0);
			assert_int_equal(ftruncate(fd, i), 0);
			close(fd);
			break;
		case 2:
			assert_int_equal(mkdir(name, 0700), 0);
			break;
		case 3:
			assert_int_equal(symlink(i % 2 ? "n0000" : "dangling", name), 0);
			break;
		case 4:
			break;		/* missing: ENOENT */
		}
	}
}

static void
lst_record(struct lst *l, uint32_t flags)
{
	int i;

	assert_int_equal(slate_init(&l->sl, l->ent, NSTAT, NULL, 0), 0);
	l->sl.sl_flags = flags;
	for (i = 0; i < NSTAT; i++) {
		snprintf(l->path[i], sizeof(l->path[i]), "n%04d", i);
		prep_lstat(&l->m[i], l->path[i], &l->st[i]);
		assert_int_equal(slate_add(&l->sl, &l->m[i].hdr, sizeof(l->m[i]), NULL), 0);
	}
}

static void
same_stat(const struct stat *a, const struct stat *b)
{
	assert_int_equal(a->st_ino, b->st_ino);
	assert_int_equal(a->st_mode, b->st_mode);
	assert_int_equal(a->st_size, b->st_size);
	assert_int_equal(a->st_nlink, b->st_nlink);
}

static void
lstat_1000(void **s)
{
	char dir[256];
	struct lst *seq = calloc(1, sizeof(*seq)), *par = calloc(1, sizeof(*par));
	struct stat st;
	int i, run, r, nok = 0;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	make_tree();
	lst_record(seq, 0);
	lst_record(par, SLATE_PARALLEL);

	assert_int_equal(sendsys(sysport(), &seq->sl.hdr, sizeof(seq->sl)), 0);
	assert_int_equal(seq->sl.hdr.ms_result, NSTAT);
	for (run = 0; run < 10; run++) {
		memset(par->st, 0, sizeof(par->st));
		r = sendsys(sysport(), &par->sl.hdr, sizeof(par->sl));
		assert_int_equal(r, 0);
		assert_int_equal(par->sl.hdr.ms_result, NSTAT);
		for (i = 0, nok = 0; i < NSTAT; i++) {
			assert_int_equal(par->ent[i].se_status, SLATE_RAN);
			assert_int_equal(par->m[i].hdr.ms_error, seq->m[i].hdr.ms_error);
			assert_int_equal(par->m[i].hdr.ms_result, seq->m[i].hdr.ms_result);
			errno = 0;
			assert_int_equal(lstat(seq->path[i], &st) == 0 ? 0 : errno,
			    seq->m[i].hdr.ms_error);
			if (seq->m[i].hdr.ms_error == 0) {
				same_stat(&par->st[i], &seq->st[i]);
				same_stat(&par->st[i], &st);
				nok++;
			}
		}
		assert_int_equal(nok, NSTAT / 5 * 4);	/* the missing ones are ENOENT */
	}
	kp_rmtree(dir);
	free(seq);
	free(par);
}

/* NCHAIN chains open -> pread -> fstat -> close, each through its register. */
struct chains {
	struct sys_slate sl;
	struct slate_entry ent[4 * NCHAIN];
	int64_t regs[NCHAIN + 1];
	char path[NCHAIN][16];
	char buf[NCHAIN][16];
	struct stat st[NCHAIN];
	struct sys_openat op[NCHAIN];
	struct sys_pread pr[NCHAIN];
	struct sys_fstat fs[NCHAIN];
	struct sys_close cl[NCHAIN];
};

static void
chains_record(struct chains *c, uint32_t flags)
{
	struct slate_opts o;
	int k, step;
	uint8_t reg;

	assert_int_equal(slate_init(&c->sl, c->ent, 4 * NCHAIN, c->regs, NCHAIN + 1), 0);
	c->sl.sl_flags = flags;
	/* interleaved: every chain's open first, then every pread, ... */
	for (step = 0; step < 4; step++) {
		for (k = 0; k < NCHAIN; k++) {
			reg = (uint8_t)(k + 1);
			memset(&o, 0, sizeof(o));
			switch (step) {
			case 0:
				snprintf(c->path[k], sizeof(c->path[k]), "c%02d", k);
				prep_open(&c->op[k], c->path[k], O_RDONLY | O_CLOEXEC, 0);
				o.out = reg;
				o.flags = SLATE_STOP;
				assert_int_equal(slate_add(&c->sl, &c->op[k].hdr, sizeof(c->op[k]), &o), 0);
				break;
			case 1:
				prep_pread(&c->pr[k], -1, c->buf[k], sizeof(c->buf[k]), 1);
				o.inarg[0] = 0, o.inreg[0] = reg;
				assert_int_equal(slate_add(&c->sl, &c->pr[k].hdr, sizeof(c->pr[k]), &o), 0);
				break;
			case 2:
				prep_fstat(&c->fs[k], -1, &c->st[k]);
				o.inarg[0] = 0, o.inreg[0] = reg;
				assert_int_equal(slate_add(&c->sl, &c->fs[k].hdr, sizeof(c->fs[k]), &o), 0);
				break;
			case 3:
				prep_close(&c->cl[k], -1);
				o.inarg[0] = 0, o.inreg[0] = reg;
				o.guard = SLATE_IFGE, o.ga = reg, o.gb = 0;
				assert_int_equal(slate_add(&c->sl, &c->cl[k].hdr, sizeof(c->cl[k]), &o), 0);
				break;
			}
		}
	}
}

static void
chains_check(struct chains *c)
{
	char want[32];
	int k;

	for (k = 0; k < NCHAIN; k++) {
		snprintf(want, sizeof(want), "chain %02d", k);
		assert_int_equal(c->op[k].hdr.ms_error, 0);
		assert_int_equal(c->pr[k].hdr.ms_error, 0);
		assert_int_equal(c->pr[k].hdr.ms_result, (int64_t)strlen(want) - 1);
		assert_memory_equal(c->buf[k], want + 1, strlen(want) - 1);
		assert_int_equal(c->fs[k].hdr.ms_error, 0);
		assert_int_equal(c->st[k].st_size, (off_t)strlen(want));
		assert_int_equal(c->cl[k].hdr.ms_error, 0);
		assert_int_equal(c->pr[k].fd, c->regs[k + 1]);
		assert_int_equal(c->cl[k].fd, c->regs[k + 1]);
	}
}

static void
dependency_chains(void **s)
{
	char dir[256], name[16], text[32];
	struct chains *c = calloc(1, sizeof(*c));
	msgport_t *rp = mkport_queue();
	int k, fd, run, lowest;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	lowest = open(".", O_RDONLY);	/* the lowest free number now */
	close(lowest);
	for (k = 0; k < NCHAIN; k++) {
		snprintf(name, sizeof(name), "c%02d", k);
		snprintf(text, sizeof(text), "chain %02d", k);
		fd = open(name, O_CREAT | O_WRONLY, 0600);
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
		close(fd);
	}
	chains_record(c, SLATE_PARALLEL);
	for (run = 0; run < 20; run++) {
		memset(c->buf, 0, sizeof(c->buf));
		assert_int_equal(sendsys(sysport(), &c->sl.hdr, sizeof(c->sl)), 0);
		assert_int_equal(c->sl.hdr.ms_result, 4 * NCHAIN);
		chains_check(c);
	}
	/* asynchronous: returned to the reply port, once */
	prep_async(&c->sl.hdr, rp);
	for (run = 0; run < 20; run++) {
		memset(c->buf, 0, sizeof(c->buf));
		assert_int_equal(sendsys(sysport(), &c->sl.hdr, sizeof(c->sl)), EASYNC);
		assert_int_equal(waitsys(rp, &c->sl.hdr), 0);
		assert_null(getport(rp));
		assert_int_equal(c->sl.hdr.ms_result, 4 * NCHAIN);
		chains_check(c);
	}
	/* no descriptor left open: the next open gets the lowest free one */
	fd = open(".", O_RDONLY);
	assert_int_equal(fd, lowest);
	close(fd);
	assert_int_equal(rmport(rp), 0);
	kp_rmtree(dir);
	free(c);
}

/*
 * Entries run in more than one thread: gettid() between 2 ms sleeps.
 * One thread alone would take 0.6 s; the other participants only need
 * to be scheduled at some point in that time (on a loaded machine that
 * may take longer: the run is tried up to five times).
 */
static void
spreads_over_threads(void **s)
{
	enum { NP = 600 };
	static struct sys_slate sl;
	static struct slate_entry ent[NP];
	static struct sys_nanosleep ns[NP / 2];
	static struct sys_syscall tid[NP / 2];
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	long first;
	int i, try, distinct = 1;

	(void)s;
	assert_int_equal(slate_init(&sl, ent, NP, NULL, 0), 0);
	sl.sl_flags = SLATE_PARALLEL;
	for (i = 0; i < NP / 2; i++) {
		prep_nanosleep(&ns[i], &ts, NULL);
		assert_int_equal(slate_add(&sl, &ns[i].hdr, sizeof(ns[i]), NULL), 0);
		prep_syscall(&tid[i], SYS_gettid, 0, 0, 0, 0, 0, 0);
		assert_int_equal(slate_add(&sl, &tid[i].hdr, sizeof(tid[i]), NULL), 0);
	}
	for (try = 0; try < 5 && distinct == 1; try++) {
		assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
		assert_int_equal(sl.hdr.ms_result, NP);
		first = (long)tid[0].hdr.ms_result;
		for (i = 0; i < NP / 2; i++) {
			assert_int_equal(tid[i].hdr.ms_error, 0);
			assert_true(tid[i].hdr.ms_result > 0);
			if ((long)tid[i].hdr.ms_result != first)
				distinct = 2;
		}
	}
	assert_int_equal(distinct, 2);
}

/* A message in two entries would run twice at once: refused in parallel. */
static void
shared_message(void **s)
{
	struct sys_slate sl;
	struct slate_entry ent[3];
	struct sys_getpid gp, other;

	(void)s;
	assert_int_equal(slate_init(&sl, ent, 3, NULL, 0), 0);
	prep_getpid(&gp);
	prep_getpid(&other);
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), 0);
	assert_int_equal(slate_add(&sl, &other.hdr, sizeof(other), NULL), 0);
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), 0);
	/* in order it is fine: one after the other */
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(sl.hdr.ms_result, 3);
	sl.sl_flags = SLATE_PARALLEL;
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), EINVAL);
	assert_int_equal(sl.hdr.ms_result, 0);
	/* and nothing was left marked: without the duplicate it runs */
	sl.sl_n = 2;
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(sl.hdr.ms_result, 2);
	/* an empty parallel slate runs nothing */
	sl.sl_n = 0;
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(sl.hdr.ms_result, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lstat_1000),
		cmocka_unit_test(dependency_chains),
		cmocka_unit_test(spreads_over_threads),
		cmocka_unit_test(shared_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
