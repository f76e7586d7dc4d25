/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the message decoder against arbitrary input.  The bytes
 * become a message header -- command, flags (request bits, state bits,
 * the user's bits), size, reply port (none, an open one, a closed one),
 * even a NULL message or port -- sent to the system port, plugged or
 * not.  The arguments are ones every call refuses (descriptors -1,
 * pointers to nowhere, lengths too large), so any command may be named
 * and none does harm; but the memory the library itself reads and
 * writes is built from the input too: fstatatv's arrays (names of files
 * that exist or not, NULL ones, arrays that are NULL, unmapped,
 * read-only or run into an unmapped page) and slates of arbitrary
 * entries (getpid, close(-1) and fstatatv messages, or messages at such
 * addresses, with raw sizes, registers and guards).  It must never
 * crash, and sendsys()'s answer must agree with what happens to the
 * message:
 *
 *	refused unclaimed (a size out of range, unknown request bits,
 *	in flight already: EINVAL, EBUSY): left exactly as it was;
 *	EASYNC: it comes back exactly once, done and idle;
 *	anything else: it is idle again, its error that answer, its
 *	request and user flags and its size as sent.
 *
 * Built two ways, as fuzz-slate.c:
 *   tests/fuzz-msg	a libFuzzer target (configure --enable-fuzz, clang);
 *   tests/test-msg-fuzz	the same target fed deterministic pseudo-random
 *			inputs, in every make check.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzzutil.h"
#include "msgport-slate.h"
#include "systab-internal.h"

union fz_msg {
	msg_t		hdr;
	struct sys_syscall sc;
	struct sys_fstatatv fv;
	struct sys_slate sl;
	char		raw[2048];
};

/* Does cmd's call read memory an argument points to (KA_IN)?  The
   arrays of fstatatv and slates are built here, from the input. */
static inline bool
fz_reads_user(uint32_t cmd)
{
	int k;

	if (cmd == 0 || cmd >= KCMD_MAX)
		return false;
	for (k = 0; k < KARGS; k++)
		if (mp_systab[cmd].kc_args[k].ka_kind == KA_IN)
			return true;
	return false;
}

static void
fail(const char *why, const msg_t *m, int r)
{
	fprintf(stderr, "fuzz-msg: %s (cmd %u flags %#x size %u: sendsys %d, error %d)\n",
	    why, m->ms_cmd, msgflags(m), m->ms_size, r, m->ms_error);
	abort();
}

/* What the inputs came to: returned later; refused or done at once;
   refused unclaimed. */
static long fz_async, fz_now, fz_busy;

#define FZ_NV	20	/* fstatatv names */
#define FZ_NE	8	/* slate entries */

/* Strings the names may be: files there or not; the empty one. */
static const char *const fz_names[] = { ".", "/", "", "/nonexistent", "..", "/dev/null" };

/*
 * fz_fstatatv
 *	Arguments for fstatatv from the input, into m: n names, each a
 *	real string, NULL or (not under the sanitizers, whose fstatat reads
 *	the string first) one that faults; the three arrays where fz_ptr()
 *	puts them.
 */
static void
fz_fstatatv(struct fz_in *in, struct sys_fstatatv *m, const char **names, struct stat *st,
    int *errs)
{
	unsigned i, k, n = (unsigned)take(in, 1);

	n = n == 0xff ? (unsigned)take(in, 2) : n % (FZ_NV + 1);
	for (i = 0; i < FZ_NV; i++) {
		k = (unsigned)take(in, 1);
		names[i] = k < 0xf0 ? fz_names[k % (sizeof(fz_names) / sizeof(fz_names[0]))] :
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
		    NULL;
#else
		    fz_ptr(k, NULL, 1);
#endif
	}
	k = (unsigned)take(in, 2);
	m->dirfd = k & 0x8000 ? -1 : -100 /* AT_FDCWD */;
	m->flags = k & 0x4000 ? (int)(k & 0x1fff) : (int)(k & 0x1100);
	m->n = n;
	/* more names than the arrays hold: names[] faults, nothing is run or
	   written (or n is refused) */
	m->names = fz_ptr(n > FZ_NV ? 2 : k, names, n * sizeof(names[0]));
	m->st = fz_ptr(k >> 3, st, (n < FZ_NV ? n : FZ_NV) * sizeof(st[0]));
	m->errs = fz_ptr(k >> 6, errs, (n < FZ_NV ? n : FZ_NV) * sizeof(errs[0]));
}

/*
 * fz_slate
 *	A slate of arbitrary entries from the input, into m: each entry's
 *	message one of a pool (getpid, close(-1), an fstatatv as above) or
 *	an address that faults, its size right or raw, its registers,
 *	slots and guard raw; the entry and register arrays where fz_ptr()
 *	puts them.
 */
static void
fz_slate(struct fz_in *in, struct sys_slate *m)
{
	static struct slate_entry ent[FZ_NE];
	static int64_t regs[4];
	static struct sys_getpid gp;
	static struct sys_close cl;
	static struct sys_fstatatv fv;
	static const char *names[FZ_NV];
	static struct stat st[FZ_NV];
	static int errs[FZ_NV];
	static const uint32_t size[3] = { sizeof(gp), sizeof(cl), sizeof(fv) };
	msg_t *pool[3] = { &gp.hdr, &cl.hdr, &fv.hdr };
	struct slate_entry *e;
	unsigned i, k, n, which;

	prep_getpid(&gp);
	prep_close(&cl, -1);
	prep_fstatatv(&fv, -1, NULL, NULL, NULL, 0, 0);
	fz_fstatatv(in, &fv, names, st, errs);
	memset(ent, 0, sizeof(ent));
	n = (unsigned)take(in, 1) % (FZ_NE + 1);
	for (i = 0; i < n; i++) {
		e = &ent[i];
		k = (unsigned)take(in, 1);
		which = k % 3;
		e->se_msg = pool[which];
		e->se_size = size[which];
		if (k >= 0xf0)
			e->se_msg = fz_ptr(k, e->se_msg, e->se_size);
		if ((k = (unsigned)take(in, 1)) == 0)
			continue;
		/* now and then raw */
		e->se_size = k & 0x80 ? (uint32_t)take(in, 2) : e->se_size;
		e->se_out = (uint8_t)(k & 7);
		e->se_inreg[0] = (uint8_t)((k >> 3) & 3);
		e->se_inarg[0] = (uint8_t)(take(in, 1) % 9);
		e->se_guard = (uint8_t)(take(in, 1) % (SLATE_NGUARDS + 1));
		e->se_flags = (uint8_t)(take(in, 1) & 3);
		e->se_ga = (uint32_t)(take(in, 1) % (FZ_NE + 1));
		e->se_gb = (int64_t)take(in, 1) - 128;
		/* registers hold pids and counts: never a descriptor to close
		   (this process's own), nor fstatatv's n (past its arrays) */
		if (e->se_inarg[0] == (which == 1 ? 0 : which == 2 ? 4 : 9))
			e->se_inreg[0] = 0;
	}
	k = (unsigned)take(in, 1);
	m->sl_ent = fz_ptr(k < 0xf0 ? 0 : k, ent, n * sizeof(ent[0]));
	m->sl_cap = m->sl_n = n;
	m->sl_regs = fz_ptr(k < 0xf0 ? 0 : k >> 2, regs, sizeof(regs));
	m->sl_nregs = (k & 3) + 1;
	m->sl_flags = (k & 0x30) == 0x30 ? SLATE_PARALLEL : (k & 0x30) == 0x20 ? SLATE_STOPFAIL : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union fz_msg m;
	static msgport_t *open_rp, *closed_rp;
	struct timespec wait = { 30, 0 };
	struct fz_in in = { data, size };
	uint32_t cmd, flags, how, f0;
	size_t msgsize, own;
	msgport_t *port, *rp;
	msg_t *msg, *g, before;
	int r, plugged;

	if (open_rp == NULL) {
		if ((open_rp = mkport_queue()) == NULL || (closed_rp = mkport_queue()) == NULL ||
		    closeport(closed_rp) != 0)
			abort();
	}

	/* the command: mostly a real one, sometimes anything */
	how = take(&in, 1);
	cmd = how & 0x80 ? take(&in, 4) : how % (KCMD_MAX + 2);
	/* the flags: request bits mostly, state and user bits sometimes */
	flags = take(&in, 1);
	flags = (flags & 0xc0) == 0xc0 ? take(&in, 4) :
	    flags & (MSGF_ASYNC | MSGF_NONBLOCK | MSGF_PERSISTENT);
	/* the size: the command's, one off, or anything */
	how = take(&in, 1);
	msgsize = how < 160 ? 0 : how < 200 ? (size_t)(how % 3) - 1 : take(&in, 3);
	how = take(&in, 1);
	rp = how % 3 == 0 ? NULL : how % 3 == 1 ? open_rp : closed_rp;
	plugged = take(&in, 1) % 2;

	/* arguments every call refuses; NULL for what the library reads itself */
	memset(&m, 0xff, sizeof(m));
	if (cmd == KCMD_SLATE || cmd == KCMD_FSTATATV)
		memset(&m, 0, sizeof(m));
	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.ms_cmd = cmd;
	m.hdr.ms_flags = flags;
	m.hdr.ms_reply_port = rp;
	m.hdr.ms_error = (int)take(&in, 2);		/* stale results: the send clears them */
	m.hdr.ms_result = (int64_t)take(&in, 4);
	if (cmd == KCMD_FSTATATV) {
		static const char *names[FZ_NV];
		static struct stat st[FZ_NV];
		static int errs[FZ_NV];

		fz_fstatatv(&in, &m.fv, names, st, errs);
	} else if (cmd == KCMD_SLATE) {
		fz_slate(&in, &m.sl);
	}
	/* a command's own size from the command table; an unknown one's, a header */
	own = cmd > 0 && cmd < KCMD_MAX ? mp_systab[cmd].kc_size : sizeof(msg_t);
	if (msgsize == 0 || msgsize == (size_t)-1 || msgsize == 1)
		msgsize = own + msgsize;	/* the command's own size, give or take one */
	if (msgsize > sizeof(m) && msgsize <= 65536)
		msgsize = sizeof(m);	/* a size the buffer holds: only the system port's check differs */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* The sanitizers' wrappers read what a call points to before the
	   kernel can say EFAULT, and report the pointers to nowhere: under
	   them the commands whose calls read user memory are only decoded
	   (their size made wrong), never run. */
	if (cmd != KCMD_SLATE && cmd != KCMD_FSTATATV && fz_reads_user(cmd) && msgsize == own)
		msgsize++;
#endif

	/* now and then a NULL message or port */
	how = take(&in, 1);
	msg = how == 0xfe ? NULL : &m.hdr;
	port = how == 0xff ? NULL : sysport();
	if (port == NULL && how != 0xff)
		abort();

	if (plugged && plugsys() != 0)
		abort();
	f0 = m.hdr.ms_flags;
	memcpy(&before, &m.hdr, sizeof(before));
	r = sendsys(port, msg, msgsize);
	if (plugged && unplugsys() != 0)
		abort();
	if (msg == NULL || port == NULL) {
		if (r != EFAULT)
			abort();
		return 0;
	}

	/* Refused before it was claimed (sendsys(3)): left exactly as it was. */
	if (msgsize < sizeof(msg_t) || msgsize > 65536 || (f0 & MSGF_INFLIGHT) ||
	    (f0 & MSGF_REQUESTS & ~(MSGF_ASYNC | MSGF_NONBLOCK | MSGF_PERSISTENT))) {
		if (r != ((f0 & MSGF_INFLIGHT) && msgsize >= sizeof(msg_t) && msgsize <= 65536 ?
		    EBUSY : EINVAL))
			fail("the wrong refusal", &m.hdr, r);
		if (memcmp(&before, &m.hdr, sizeof(before)) != 0)
			fail("refused unclaimed, yet touched", &m.hdr, r);
		fz_busy++;
		return 0;
	}
	if (r != EASYNC) {
		/* refused once claimed, or done in place: idle, its error the answer */
		if (msgflags(&m.hdr) & MSGF_INFLIGHT)
			fail("refused or done, but still in flight", &m.hdr, r);
		if (m.hdr.ms_error != r)
			fail("the message's error is not sendsys's answer", &m.hdr, r);
		if ((msgflags(&m.hdr) ^ f0) & (MSGF_REQUESTS | MSGF_USERMASK))
			fail("its request or user flags changed", &m.hdr, r);
		if (m.hdr.ms_size != msgsize)
			fail("its size is not the one sent", &m.hdr, r);
		if (!(msgflags(&m.hdr) & MSGF_DONE) && m.hdr.ms_result != 0)
			fail("refused, but a result is left", &m.hdr, r);
		fz_now++;
		return 0;
	}

	/* EASYNC: returned once.  A persistent one is stopped first.  (Its
	   flags are read with msgflags() while it may be in flight.) */
	fz_async++;
	if (f0 & MSGF_PERSISTENT)
		abortsys(&m.hdr);
	if (rp == NULL) {
		if (timedwaitsys(NULL, &m.hdr, &wait) == ETIMEDOUT)
			fail("never returned", &m.hdr, r);
	} else {
		do {
			if ((r = timedwaitsys(rp, &m.hdr, &wait)) == ETIMEDOUT)
				fail("never returned", &m.hdr, r);
		} while (msgflags(&m.hdr) & MSGF_INFLIGHT);	/* a persistent one's occurrences */
		if ((g = getport(rp)) != NULL)
			fail("returned twice", g, r);
	}
	if (!(msgflags(&m.hdr) & MSGF_DONE) || (msgflags(&m.hdr) & MSGF_INFLIGHT))
		fail("returned but not done and idle", &m.hdr, r);
	return 0;
}

#ifdef FUZZ_STANDALONE
/* Without libFuzzer: deterministic pseudo-random inputs. */
int
main(void)
{
	uint8_t buf[96];	/* room for a slate's or fstatatv's arguments */
	uint64_t x = 0x2545f4914f6cdd1dull;
	long iters = 20000, it;
	size_t i;

	if (getenv("MSG_FUZZ_ITERS") != NULL)
		iters = atol(getenv("MSG_FUZZ_ITERS"));
	if (sysport() == NULL)
		return 1;
	for (it = 0; it < iters; it++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (uint8_t)(x >> 24);
		}
		LLVMFuzzerTestOneInput(buf, (size_t)(x % sizeof(buf)) + 1);
	}
	printf("fuzz-msg: %ld inputs: %ld returned later, %ld refused or done at once, "
	    "%ld refused unclaimed\n",
	    iters, fz_async, fz_now, fz_busy);
	/* a target that never gets a message accepted tests little */
	return fz_async > iters / 500 && fz_now > iters / 10 && fz_busy > iters / 100 ? 0 : 1;
}
#endif
