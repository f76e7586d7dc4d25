/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the slate decoder against arbitrary input.  The bytes
 * become a slate -- its counts and flags, and for each entry a message
 * (chosen from a pool, command and flags from the input; now and then
 * NULL or an address that faults), its size, registers, argument slots
 * and guard, all raw; the entry and register arrays now and then at
 * addresses that fault too (unmapped, read-only, half unmapped) -- and
 * slate_check() judges it.  It must never crash, and a slate it accepts must run:
 * when every entry is getpid (harmless whatever the registers and guards
 * say), the slate is sent, in order or in parallel, and every entry must
 * end in a state that agrees with its guard.
 *
 * Built two ways:
 *   tests/fuzz-slate	a libFuzzer target (configure --enable-fuzz, clang);
 *   tests/test-slate-fuzz	the same target fed 20,000 deterministic
 *			pseudo-random inputs, in every make check.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "msgport-slate.h"

#define FZ_NE	16
#define FZ_NR	8
#define FZ_NMSG	6

union fz_msg {
	msg_t		hdr;
	struct sys_syscall sc;		/* the largest argument block */
	struct sys_sendto st;
	struct sys_slate sl;
	char		raw[1024];
};

/* How many inputs were accepted, and run. */
static long fz_accepted, fz_ran, fz_ranbig;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union fz_msg pool[FZ_NMSG];
	static struct slate_entry ent[FZ_NE];
	static int64_t regs[FZ_NR];
	static struct sys_slate sl;
	struct fz_in in = { data, size };
	uint32_t i, allgetpid = 1, used = 0;
	unsigned k;
	int r, r2;

	memset(pool, 0, sizeof(pool));
	memset(ent, 0, sizeof(ent));
	memset(&sl, 0, sizeof(sl));
	prep_sys(&sl.hdr, KCMD_SLATE);
	sl.sl_ent = ent;
	sl.sl_regs = regs;
	sl.sl_cap = (uint32_t)take(&in, 1) % (FZ_NE + 1);
	sl.sl_n = (uint32_t)take(&in, 1) % (FZ_NE + 2);
	sl.sl_nregs = (uint32_t)take(&in, 1) % (FZ_NR + 1);
	sl.sl_flags = (uint32_t)take(&in, 1);
	if (take(&in, 1) == 0xff) {		/* now and then: huge counts */
		sl.sl_cap = (uint32_t)take(&in, 4);
		sl.sl_n = (uint32_t)take(&in, 4);
		sl.sl_nregs = (uint32_t)take(&in, 4);
	}
	for (k = 0; k < FZ_NMSG; k++) {
		/* commands near the real ones, now and then anything */
		uint32_t c = (uint32_t)take(&in, 1);

		pool[k].hdr.ms_cmd = c == 0xff ? (uint32_t)take(&in, 4) : c % (KCMD_MAX + 2);
		pool[k].hdr.ms_flags = (uint32_t)take(&in, 1) & 0x7 ? 0 : (uint32_t)take(&in, 4);
	}
	for (i = 0; i < FZ_NE && i < sl.sl_cap; i++) {
		struct slate_entry *e = &ent[i];
		uint32_t pick = (uint32_t)take(&in, 1);

		e->se_msg = pick % 17 == 16 ? NULL : &pool[pick % FZ_NMSG].hdr;
		e->se_size = (uint32_t)take(&in, 1) & 1 ? (uint32_t)take(&in, 2) :
		    (e->se_msg && e->se_msg->ms_cmd == KCMD_GETPID ? sizeof(struct sys_getpid) :
		    sizeof(struct sys_close));
		if (pick >= 0xf0)	/* a message that faults, or is read-only */
			e->se_msg = fz_ptr(pick, e->se_msg, e->se_size);
		e->se_out = (uint8_t)take(&in, 1);
		e->se_flags = (uint8_t)take(&in, 1);
		e->se_guard = (uint8_t)take(&in, 1);
		e->se_inarg[0] = (uint8_t)take(&in, 1);
		e->se_inarg[1] = (uint8_t)take(&in, 1);
		e->se_inreg[0] = (uint8_t)take(&in, 1);
		e->se_inreg[1] = (uint8_t)take(&in, 1);
		e->se_ga = (uint32_t)take(&in, 1);
		e->se_gb = (int64_t)take(&in, 1) - 128;
		e->se_status = (uint8_t)take(&in, 1);
	}
	/* now and then fold everything into range: valid slates, to run */
	if (take(&in, 1) & 1) {
		if (sl.sl_cap > FZ_NE)
			sl.sl_cap = FZ_NE;
		if (sl.sl_n > sl.sl_cap)
			sl.sl_n = sl.sl_cap;
		if (sl.sl_nregs > FZ_NR)
			sl.sl_nregs = FZ_NR;
		sl.sl_flags &= SLATE_FLAGS;
		for (k = 0; k < FZ_NMSG; k++) {
			pool[k].hdr.ms_cmd = k % 4 ? KCMD_GETPID : KCMD_CLOSE;
			pool[k].hdr.ms_flags = 0;
		}
		for (i = 0; i < FZ_NE; i++) {
			struct slate_entry *e = &ent[i];
			unsigned nr = sl.sl_nregs ? sl.sl_nregs : 1;

			if ((uintptr_t)e->se_msg - (uintptr_t)pool >= sizeof(pool))
				e->se_msg = &pool[i % FZ_NMSG].hdr;	/* NULL or faulting */
			e->se_size = e->se_msg->ms_cmd == KCMD_GETPID ? sizeof(struct sys_getpid) :
			    sizeof(struct sys_close);
			e->se_out %= nr;
			e->se_inreg[0] = e->se_inreg[0] % 4 ? 0 : e->se_inreg[0] % nr;
			e->se_inreg[1] = e->se_inreg[1] % 4 ? 0 : e->se_inreg[1] % nr;
			e->se_inarg[0] %= 2;
			e->se_inarg[1] %= 2;
			e->se_guard %= SLATE_NGUARDS;
			e->se_flags &= SLATE_EFLAGS;
			if (e->se_guard <= SLATE_IFFAIL)
				e->se_ga %= i ? i : 1;
			else
				e->se_ga %= nr;
		}
	}

	/* now and then arrays that fault (or are NULL, or read-only) */
	if ((k = (unsigned)take(&in, 1)) >= 0xf0) {
		sl.sl_ent = fz_ptr(k, ent, sl.sl_n * sizeof(ent[0]));
		sl.sl_regs = fz_ptr(k >> 2, regs, sl.sl_nregs * sizeof(regs[0]));
	}

	r = slate_check(&sl);
	if (r != 0 && r != EINVAL && r != ENOSYS && r != E2BIG && r != EFAULT && r != EBUSY)
		abort();
	if (slate_check(&sl) != r)		/* judging changes nothing */
		abort();
	if (r != 0)
		return 0;
	fz_accepted++;

	for (i = 0; i < sl.sl_n; i++) {
		allgetpid &= sl.sl_ent[i].se_msg->ms_cmd == KCMD_GETPID;
		used |= sl.sl_ent[i].se_inreg[0] | sl.sl_ent[i].se_inreg[1];
	}
	if (!allgetpid || used != 0)
		return 0;	/* other calls would act on the world */

	r2 = sendsys(sysport(), &sl.hdr, sizeof(sl));
	if (r2 != 0 && r2 != EINVAL)	/* EINVAL: a message shared in parallel */
		abort();
	if (r2 != 0)
		return 0;
	fz_ran++;
	fz_ranbig += sl.sl_n >= 3;
	for (i = 0; i < sl.sl_n; i++) {
		struct slate_entry *e = &ent[i];

		uint32_t j;

		/* a message shared by entries shows the last one's outcome */
		for (j = i + 1; j < sl.sl_n && ent[j].se_msg != e->se_msg; j++)
			continue;
		if (e->se_status == SLATE_RAN) {
			if (j == sl.sl_n &&
			    (e->se_msg->ms_result != getpid() || e->se_msg->ms_error != 0))
				abort();
		} else if (e->se_status != SLATE_SKIPPED) {
			abort();	/* nothing fails, nothing stops */
		}
		if (e->se_guard == SLATE_ALWAYS && e->se_status != SLATE_RAN)
			abort();
	}
	return 0;
}

#ifdef FUZZ_STANDALONE
/*
 * Without libFuzzer: deterministic pseudo-random inputs, biased towards
 * the small values that make valid slates.
 */
int
main(void)
{
	uint8_t buf[512];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	long iters = 20000, it;
	size_t i, n;

	if (getenv("SLATE_FUZZ_ITERS") != NULL)
		iters = atol(getenv("SLATE_FUZZ_ITERS"));
	if (sysport() == NULL)
		return 1;
	for (it = 0; it < iters; it++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = (size_t)(x % sizeof(buf));
		for (i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly small bytes, sometimes anything */
			buf[i] = (uint8_t)(x % 4 == 0 ? x >> 8 : (x >> 8) % 8);
			if (x % 11 == 0)
				buf[i] = KCMD_GETPID;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz-slate: %ld inputs, %ld accepted, %ld run, %ld of 3 entries or more\n", iters,
	    fz_accepted, fz_ran, fz_ranbig);
	/* a target that never reaches a valid slate tests little */
	return fz_accepted > iters / 100 && fz_ranbig > iters / 1000 ? 0 : 1;
}
#endif
