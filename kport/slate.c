/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slate.c - slates: recorded batches of syscall messages run with one
 * send (KCMD_SLATE; see msgport-slate.h for the user's view).
 *
 * A run is judged first, whole (slate_check()), so a malformed slate
 * runs nothing.  Then:
 *
 *   in order	the entries run one after the other through their
 *		command's kc_run, in the thread that runs the slate: the
 *		sender's for a synchronous slate, a pool worker for an
 *		asynchronous one.  Per entry: the guard, the register
 *		inputs, the call, the output register; no atomic operation
 *		but one load of the slate's flags for abortsys().
 *   parallel	the thread running the slate hands up to SLATE_RUNNERS
 *		"runner" messages to the worker pool (mp_kreq_submit, no
 *		sendsys) and becomes a runner itself.  Runners claim entries
 *		in recorded order from one counter; an entry first waits for
 *		its dependencies (the entry its guard names, the previous
 *		user of each register it uses), which were claimed earlier
 *		by runners that are running, so nobody waits for a thread
 *		that is not running.  When no entry is left the slate's
 *		thread takes back the runners still queued (mp_kreq_drop) and
 *		waits for the running ones to come back: each is returned to
 *		an internal reply port whose mp_replyport counts it in.
 *		Only then is the slate itself returned, so the runner
 *		messages, which live in the slate, are never touched after
 *		the user has it back.
 *
 * The argument slots a register may feed are data: the command table's
 * kc_args (systab.c), whose integers and descriptors may be fed.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "futex-internal.h"
#include "kport-internal.h"
#include "kreq-internal.h"
#include "msgport-slate.h"
#include "owncalls-internal.h"
#include "pool-internal.h"
#include "ucopy-internal.h"

/* The sizes msgport-slate.h documents. */
_Static_assert(sizeof(struct slate_entry) == 64, "struct slate_entry is 64 bytes");
_Static_assert(sizeof(struct sys_slate) <= 1024, "struct sys_slate fits in 1 KiB");

/*
 * The command table digested for the run's checks: bit k of slotmask,
 * argument slot k may be fed; entsize, the size an entry must give (its
 * message's; 0, which no entry gives, for a command that is never one).
 */
static uint8_t slotmask[KCMD_MAX];
static uint32_t entsize[KCMD_MAX];

static inline bool
karg_fed(const struct karg *ka)
{
	return ka->ka_kind == KA_INT || ka->ka_kind == KA_FD;
}

__attribute__((constructor)) static void
slate_masks(void)
{
	const struct kcmd *kc;
	uint32_t cmd;
	int k;

	for (cmd = 1; cmd < KCMD_MAX; cmd++) {
		kc = &mp_systab[cmd];
		entsize[cmd] = kc->kc_flags & (KC_PERSIST | KC_NOSLATE) ? 0 : kc->kc_size;
		for (k = 0; k < KARGS; k++)
			if (karg_fed(&kc->kc_args[k]))
				slotmask[cmd] |= (uint8_t)(1u << k);
	}
}

/* Is r a register of sl?  Register 0, the zero register, always is. */
static inline bool
reg_ok(const struct sys_slate *sl, uint64_t r)
{
	return r == 0 || r < sl->sl_nregs;
}

static inline int64_t
reg_get(const struct sys_slate *sl, unsigned r)
{
	return r != 0 ? sl->sl_regs[r] : 0;
}

/* May argument slot a of cmd be fed? */
static inline bool
slot_ok(uint32_t cmd, unsigned a)
{
	return a < KARGS && ((slotmask[cmd] >> a) & 1);
}

/* Judge e's guard, the i-th entry's (not SLATE_ALWAYS). */
static int
slate_check_guard(const struct sys_slate *sl, const struct slate_entry *e, uint32_t i)
{
	bool greg = (e->se_guard & SLATE_GREG) != 0;

	switch (e->se_guard & ~SLATE_GREG) {
	case SLATE_IFOK:
	case SLATE_IFFAIL:
		/* only an earlier entry: no cycle can be written down */
		return greg || e->se_ga >= i ? EINVAL : 0;
	case SLATE_IFEQ:
	case SLATE_IFNE:
	case SLATE_IFLT:
	case SLATE_IFGE:
		if (!reg_ok(sl, e->se_ga))
			return EINVAL;
		if (greg && (e->se_gb < 0 || !reg_ok(sl, (uint64_t)e->se_gb)))
			return EINVAL;
		return 0;
	default:	/* unknown, or SLATE_ALWAYS | SLATE_GREG */
		return EINVAL;
	}
}

/*
 * slate_check_slow
 *	Judge entry e, the i-th, field by field: 0 or why a run would
 *	refuse the slate.
 */
static int
slate_check_slow(const struct sys_slate *sl, const struct slate_entry *e, uint32_t i)
{
	const msg_t *m = e->se_msg;
	uint32_t cmd, f;
	int k;

	if (m == NULL)
		return EFAULT;
	cmd = m->ms_cmd;
	if (cmd - 1 >= KCMD_MAX - 1)
		return ENOSYS;
	f = mp_load_32(&m->ms_flags);
	if (f & MSGF_INFLIGHT)
		return EBUSY;
	if (e->se_size != entsize[cmd] || (f & MSGF_PERSISTENT) ||	/* 0 for KCMD_SLATE */
	    (e->se_flags & ~SLATE_EFLAGS) || !reg_ok(sl, e->se_out))
		return EINVAL;
	for (k = 0; k < 2; k++)
		if (e->se_inreg[k] != 0 && (!reg_ok(sl, e->se_inreg[k]) || !slot_ok(cmd, e->se_inarg[k])))
			return EINVAL;
	return e->se_guard != SLATE_ALWAYS ? slate_check_guard(sl, e, i) : 0;
}

/*
 * slate_check_entry
 *	The same judgement, run for every entry at every run: a few
 *	branches for the common entry (no guard, no flags), the slow path
 *	for anything else and to name the error.
 */
static inline int
slate_check_entry(const struct sys_slate *sl, const struct slate_entry *e, uint32_t i)
{
	const msg_t *m = e->se_msg;
	unsigned n = sl->sl_nregs, r, a;
	uint32_t cmd;

	if (__builtin_expect(m == NULL, 0))
		return EFAULT;
	cmd = m->ms_cmd;
	if (__builtin_expect(cmd - 1 >= KCMD_MAX - 1, 0))
		return ENOSYS;
	if (__builtin_expect((e->se_size != entsize[cmd]) |
	    ((mp_load_32(&m->ms_flags) & (MSGF_INFLIGHT | MSGF_PERSISTENT)) != 0) |
	    ((e->se_flags | e->se_guard) != 0), 0))
		return slate_check_slow(sl, e, i);
	if ((r = e->se_out) != 0 && __builtin_expect(r >= n, 0))
		return EINVAL;
	if ((r = e->se_inreg[0]) != 0 && __builtin_expect(r >= n || (a = e->se_inarg[0]) >= 8 ||
	    !((slotmask[cmd] >> a) & 1), 0))
		return EINVAL;
	if ((r = e->se_inreg[1]) != 0 && __builtin_expect(r >= n || (a = e->se_inarg[1]) >= 8 ||
	    !((slotmask[cmd] >> a) & 1), 0))
		return EINVAL;
	return 0;
}

/*
 * Probing the user's memory.  A run reads and writes the entry and
 * register arrays and reads the entries' messages: they are first tried
 * the way the kernel would (ucopy.c), so that a bad address is EFAULT,
 * not a fault.  One call for the arrays, one per SLATE_PROBEN messages.
 */
#define SLATE_PROBEN	64
#define SLATE_MSGMAX	512	/* more than any entry's message (sc_size) */

/* The entry and register arrays copied onto themselves: readable and
   writable.  NOTE: nobody else writes them while the slate is judged: a
   running slate is the library's, an idle one its user's. */
static int
slate_probe_arrays(const struct sys_slate *sl)
{
	struct iovec self[2] = {
		{ sl->sl_ent, sl->sl_n * sizeof(sl->sl_ent[0]) },
		{ sl->sl_regs, sl->sl_nregs * sizeof(sl->sl_regs[0]) },
	};

	return mp_ucopyv(self, 2, self, 2, false);
}

/* Entries i to i + n - 1's messages read, as far as their sizes say.
   NOTE: only read: one may be in flight elsewhere (EBUSY), and writing
   its bytes back could undo its kernel's change. */
static int
slate_probe_msgs(const struct sys_slate *sl, uint32_t i, uint32_t n)
{
	struct iovec la[SLATE_PROBEN], ua[SLATE_PROBEN];
	char scratch[SLATE_MSGMAX];
	const struct slate_entry *e;
	uint32_t k;

	for (k = 0; k < n; k++) {
		e = &sl->sl_ent[i + k];
		la[k].iov_base = scratch;
		la[k].iov_len = e->se_size > sizeof(msg_t) && e->se_size <= sizeof(scratch) ?
		    e->se_size : sizeof(msg_t);
		ua[k].iov_base = e->se_msg;
		ua[k].iov_len = la[k].iov_len;
	}
	return mp_ucopyv(la, n, ua, n, true);
}

/* Judge entries i to i + SLATE_PROBEN - 1 (as many as there are), in
   order: the first one refused says why, a bad message EFAULT. */
static int
slate_check_batch(const struct sys_slate *sl, uint32_t i)
{
	uint32_t n = sl->sl_n - i < SLATE_PROBEN ? sl->sl_n - i : SLATE_PROBEN, k;
	bool probed = slate_probe_msgs(sl, i, n) == 0;
	int r;

	for (k = i; k < i + n; k++) {
		if (!probed && slate_probe_msgs(sl, k, 1) != 0)
			return EFAULT;
		if ((r = slate_check_entry(sl, &sl->sl_ent[k], k)) != 0)
			return r;
	}
	return 0;
}

/*
 * The stamps of what a run last probed: where the arrays are and how
 * long (sl_probed[0]), and where each entry's message is and how long
 * (sl_probed[1]).  A slate run again as it was is not probed again: the
 * probes are system calls, and a slate of 64 small calls would pay for
 * them as much as for its calls (2x the raw calls, against 1.05).
 * NOTE: memory unmapped under an unchanged slate is like a message freed
 * while in flight: the user's error, not one the library can see.
 */
static uint64_t
slate_mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;	/* FNV-1a's prime */
}

static uint64_t
slate_layout(const struct sys_slate *sl)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = slate_mix(h, (uint64_t)(uintptr_t)sl->sl_ent);
	h = slate_mix(h, sl->sl_n);
	h = slate_mix(h, (uint64_t)(uintptr_t)sl->sl_regs);
	return slate_mix(h, sl->sl_nregs) | 1;	/* never 0: "not probed" */
}

/* Read only once the entry array is known readable. */
static uint64_t
slate_msgs(const struct sys_slate *sl)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t i;

	for (i = 0; i < sl->sl_n; i++) {
		h = slate_mix(h, (uint64_t)(uintptr_t)sl->sl_ent[i].se_msg);
		h = slate_mix(h, sl->sl_ent[i].se_size);
	}
	return h | 1;
}

/*
 * slate_judge
 *	Judge the whole slate: 0, or the error its run is refused with.
 *	The one decoder of user input: runs, slate_add() and the fuzzer all
 *	go through it (slate_check() is its exported face).  probed: the
 *	stamps of the last probe, to skip it when nothing moved and to
 *	update when judged good; NULL: probe everything.
 */
static int
slate_judge(const struct sys_slate *sl, uint64_t *probed)
{
	uint64_t layout, msgs;
	bool fresh = probed == NULL;
	uint32_t i;
	int r;

	if (sl == NULL)
		return EFAULT;
	if (sl->sl_cap > SLATE_MAXENTRIES || sl->sl_n > SLATE_MAXENTRIES ||
	    sl->sl_nregs > SLATE_MAXREGS)
		return E2BIG;
	if (sl->sl_n > sl->sl_cap || (sl->sl_flags & ~SLATE_FLAGS))
		return EINVAL;
	if ((sl->sl_n != 0 && sl->sl_ent == NULL) || (sl->sl_nregs != 0 && sl->sl_regs == NULL))
		return EFAULT;
	layout = slate_layout(sl);
	if (fresh || probed[0] != layout) {
		if (slate_probe_arrays(sl) != 0)
			return EFAULT;
		fresh = true;
	}
	msgs = slate_msgs(sl);
	if (!fresh && probed[1] == msgs) {
		for (i = 0; i < sl->sl_n; i++)
			if ((r = slate_check_entry(sl, &sl->sl_ent[i], i)) != 0)
				return r;
		return 0;
	}
	for (i = 0; i < sl->sl_n; i += SLATE_PROBEN)
		if ((r = slate_check_batch(sl, i)) != 0)
			return r;
	if (probed != NULL) {
		probed[0] = layout;
		probed[1] = msgs;
	}
	return 0;
}

int
slate_check(const struct sys_slate *sl)
{
	MP_OWNCALLS_BEGIN(own);
	int r = slate_judge(sl, NULL);

	MP_OWNCALLS_END(own);
	return r;
}

/* Does e's guard hold? */
static bool
slate_guard(const struct sys_slate *sl, const struct slate_entry *e)
{
	const struct slate_entry *g;
	int64_t a, b;

	switch (e->se_guard & ~SLATE_GREG) {
	case SLATE_IFOK:
	case SLATE_IFFAIL:
		g = &sl->sl_ent[e->se_ga];
		if (g->se_status != SLATE_RAN && g->se_status != SLATE_AGAIN)
			return false;
		return (g->se_msg->ms_error == 0) == ((e->se_guard & ~SLATE_GREG) == SLATE_IFOK);
	case SLATE_ALWAYS:
		return true;
	}
	a = reg_get(sl, e->se_ga);
	b = (e->se_guard & SLATE_GREG) ? reg_get(sl, (unsigned)e->se_gb) : e->se_gb;
	switch (e->se_guard & ~SLATE_GREG) {
	case SLATE_IFEQ:
		return a == b;
	case SLATE_IFNE:
		return a != b;
	case SLATE_IFLT:
		return a < b;
	default:
		return a >= b;
	}
}

/* Copy register values into the argument slots e names. */
static inline void
slate_feed(const struct sys_slate *sl, const struct slate_entry *e)
{
	const struct karg *args = mp_systab[e->se_msg->ms_cmd].kc_args, *ka;
	int k;

	for (k = 0; k < 2; k++) {
		if (e->se_inreg[k] == 0)
			continue;
		ka = &args[e->se_inarg[k]];
		if (ka->ka_size == 8) {
			int64_t v = sl->sl_regs[e->se_inreg[k]];

			memcpy((char *)e->se_msg + ka->ka_off, &v, 8);
		} else {
			int32_t v = (int32_t)sl->sl_regs[e->se_inreg[k]];

			memcpy((char *)e->se_msg + ka->ka_off, &v, 4);
		}
	}
}

/*
 * slate_finish
 *	Store the outcome of e, which ran with error.  Returns the error
 *	that counts as a failure (0 for "not done yet": not a failure).
 */
static inline int
slate_finish(struct sys_slate *sl, struct slate_entry *e, int error)
{
	msg_t *m = e->se_msg;

	m->ms_error = error;
	if (e->se_out != 0)
		sl->sl_regs[e->se_out] = m->ms_result;
	if (__builtin_expect(error == EAGAIN || (error == 0 && m->ms_result == 0 &&
	    (mp_systab[m->ms_cmd].kc_flags & KC_ZERONOTYET)), 0)) {
		e->se_status = SLATE_AGAIN;
		return 0;
	}
	e->se_status = SLATE_RAN;
	return error;
}

/* e did not run: why (status), and its message says ECANCELED. */
static inline void
slate_notrun(struct slate_entry *e, uint8_t status)
{
	e->se_status = status;
	e->se_msg->ms_result = -1;
	e->se_msg->ms_error = ECANCELED;
}

/*
 * slate_call
 *	An entry's call.  On a worker an EINTR is the slate's abort or the
 *	shutdown (-1: the entry was cut short) or an interrupt meant for an
 *	earlier message (the call is made again); see pool.c.
 */
static inline int
slate_call(struct sys_slate *sl, msg_t *m)
{
	int r;

	while ((r = mp_systab[m->ms_cmd].kc_run(m)) == EINTR && mp_kpool_worker) {
		/* a runner of a slate sent synchronously: shutdown aborts it */
		if (kaborted(&sl->hdr) || !kstate_running())
			return -1;
		if (!krestarts(m))
			break;
	}
	return r;
}

/*
 * slate_step
 *	Run entry e: guard, inputs, call, output.  Returns its failure (0:
 *	it succeeded, was skipped or is not done yet).
 */
static inline int
slate_step(struct sys_slate *sl, struct slate_entry *e)
{
	msg_t *m = e->se_msg;
	int r;

	if (e->se_guard != SLATE_ALWAYS && !slate_guard(sl, e)) {
		slate_notrun(e, SLATE_SKIPPED);
		return 0;
	}
	if ((e->se_inreg[0] | e->se_inreg[1]) != 0)
		slate_feed(sl, e);
	if (__builtin_expect((r = slate_call(sl, m)) < 0, 0)) {
		slate_notrun(e, SLATE_CANCELED);	/* the abort cut it short */
		return 0;
	}
	return slate_finish(sl, e, r);
}

static inline bool
slate_stops(const struct sys_slate *sl, const struct slate_entry *e)
{
	return ((sl->sl_flags & SLATE_STOPFAIL) | (e->se_flags & SLATE_STOP)) != 0;
}

/* Rerunning (slate_run_until): only entries not done yet run again. */
static inline bool
slate_skip_rerun(const struct sys_slate *sl, const struct slate_entry *e)
{
	return sl->sl_rerun && e->se_status != SLATE_AGAIN;
}

/*
 * slate_inorder
 *	Run the entries one by one in this thread.  Per entry, beyond the
 *	call: a relaxed load for abortsys() and the entry's own fields.
 */
static int
slate_inorder(struct sys_slate *sl)
{
	struct slate_entry *e = sl->sl_ent, *end = e + sl->sl_n;
	bool rerun = sl->sl_rerun != 0;
	uint32_t nran = 0;
	uint8_t rest = 0;
	int error = 0, r;

	for (; e < end; e++) {
		if (__builtin_expect(rerun, 0) && e->se_status != SLATE_AGAIN)
			continue;
		if (__builtin_expect(mp_load_32(&sl->hdr.ms_flags) & MSGF_ABORTED, 0)) {
			rest = SLATE_CANCELED;
			error = ECANCELED;
			break;
		}
		r = slate_step(sl, e);
		if (__builtin_expect(e->se_status == SLATE_CANCELED, 0)) {
			rest = SLATE_CANCELED;	/* cut short: it and the rest */
			error = ECANCELED;
			e++;
			break;
		}
		nran += e->se_status != SLATE_SKIPPED;
		if (__builtin_expect(r != 0, 0) && slate_stops(sl, e)) {
			sl->sl_stopped = (int32_t)(e - sl->sl_ent);
			rest = SLATE_STOPPED;
			error = r;
			e++;
			break;
		}
	}
	for (; e < end; e++)
		if (!slate_skip_rerun(sl, e))
			slate_notrun(e, rest);
	sl->hdr.ms_result = nran;
	return error;
}

/*
 * The parallel run.
 */
static void
slate_setdone(struct slate_entry *e)
{
	if (mp_faa_32(&e->se_done, 1) & 2)
		mp_futex_wake(&e->se_done);
}

/* Wait until e is done: bit 0 of se_done; bit 1 says someone sleeps. */
static void
slate_waitdone(struct slate_entry *e)
{
	uint32_t v;
	int spin;

	for (spin = 0; spin < MP_SPIN; spin++) {
		if (mp_load_acq_32(&e->se_done) & 1)
			return;
		mp_pause();
	}
	while (!((v = mp_load_acq_32(&e->se_done)) & 1)) {
		if (v == 0 && !mp_cas_32(&e->se_done, &v, 2))
			continue;
		mp_futex_wait(&e->se_done, 2, NULL);
	}
}

/*
 * slate_participate
 *	One runner's work: claim entries in order until none is left.
 */
static void
slate_participate(struct sys_slate *sl)
{
	uint32_t i, n = sl->sl_n, d, stop, cur;
	struct slate_entry *e;
	int r;

	while ((i = mp_faa_32(&sl->sl_next, 1)) < n) {
		e = &sl->sl_ent[i];
		if (slate_skip_rerun(sl, e)) {
			slate_setdone(e);
			continue;
		}
		for (d = 0; d < e->se_ndep; d++)
			slate_waitdone(&sl->sl_ent[e->se_dep[d]]);
		stop = mp_load_acq_32(&sl->sl_stop);
		if (stop != 0 && i >= stop) {
			slate_notrun(e, SLATE_STOPPED);
		} else if (kaborted(&sl->hdr)) {
			slate_notrun(e, SLATE_CANCELED);
			mp_store_32(&sl->sl_canceled, 1);
		} else {
			r = slate_step(sl, e);
			if (e->se_status == SLATE_CANCELED)
				mp_store_32(&sl->sl_canceled, 1);	/* cut short */
			else if (e->se_status != SLATE_SKIPPED)
				mp_faa_32(&sl->sl_nran, 1);
			if (r != 0 && slate_stops(sl, e)) {
				/* the earliest failing entry stops the rest */
				cur = mp_load_32(&sl->sl_stop);
				while ((cur == 0 || i + 1 < cur) &&
				    !mp_cas_32(&sl->sl_stop, &cur, i + 1))
					continue;
			}
		}
		slate_setdone(e);
	}
}

/* A runner message, run by a pool worker. */
static int
slate_runner_run(msg_t *m)
{
	slate_participate(m->ms_cookie);
	return 0;
}

static const struct kcmd slate_runner_cmd = {
	.kc_name = "slate-runner", .kc_size = sizeof(msg_t), .kc_flags = KC_BLOCKS,
	.kc_run = slate_runner_run,
};

/*
 * slate_runner_back
 *	A runner is returned (its reply port's mp_replyport): make it idle
 *	and count it in.  The last touch of the slate by the pool.
 */
static void
slate_runner_back(msgport_t *port, msg_t *m)
{
	struct sys_slate *sl = m->ms_cookie;

	(void)port;
	mp_store_32(&m->ms_flags, 0);
	if (mp_faa_32(&sl->sl_active, (uint32_t)-1) == 1)
		mp_futex_wake(&sl->sl_active);
}

static int
slate_rport_rm(msgport_t *port)
{
	(void)port;
	return EPERM;
}

static const struct msgport_ops slate_rport_ops = {
	.mp_name = "slate",
	.mp_sendport = mp_msg_send,
	.mp_putport = mp_port_nosend,
	.mp_getport = mp_port_noget,
	.mp_waitport = mp_port_nowait,
	.mp_replyport = slate_runner_back,
	.mp_dropmsg = mp_port_nodrop,
	.mp_portfd = mp_port_nofd,
	.mp_closeport = mp_port_noclose,
	.mp_rmport = slate_rport_rm,
};

/* Where runners are returned: never queued, only counted in. */
static struct msgport slate_rport = { .mp_ops = &slate_rport_ops };

/*
 * slate_deps
 *	Each entry's dependencies: the entry its guard names, and the last
 *	earlier entry using each register it uses.  Also refuses a message
 *	that two entries share (they would run at once): EINVAL.
 */
static int
slate_deps(struct sys_slate *sl)
{
	uint32_t last[SLATE_MAXREGS], i, j, k, d, nr;
	uint32_t regs[5];
	struct slate_entry *e;
	uint8_t op;

	memset(last, 0xff, sizeof(last));
	for (i = 0; i < sl->sl_n; i++) {
		e = &sl->sl_ent[i];
		if (e->se_msg->ms_kstate == sl) {
			for (j = 0; j < i; j++)
				sl->sl_ent[j].se_msg->ms_kstate = NULL;
			return EINVAL;
		}
		e->se_msg->ms_kstate = sl;
		e->se_ndep = 0;
		e->se_done = 0;
		op = e->se_guard & ~SLATE_GREG;
		if (op == SLATE_IFOK || op == SLATE_IFFAIL)
			e->se_dep[e->se_ndep++] = e->se_ga;
		nr = 0;
		regs[nr++] = e->se_out;
		regs[nr++] = e->se_inreg[0];
		regs[nr++] = e->se_inreg[1];
		if (op >= SLATE_IFEQ) {
			regs[nr++] = e->se_ga;
			if (e->se_guard & SLATE_GREG)
				regs[nr++] = (uint32_t)e->se_gb;
		}
		for (k = 0; k < nr; k++) {
			if (regs[k] == 0 || last[regs[k]] == UINT32_MAX)
				continue;
			for (d = 0; d < e->se_ndep && e->se_dep[d] != last[regs[k]]; d++)
				continue;
			if (d == e->se_ndep)
				e->se_dep[e->se_ndep++] = last[regs[k]];
		}
		for (k = 0; k < nr; k++)
			if (regs[k] != 0)
				last[regs[k]] = i;
	}
	return 0;
}

/*
 * slate_parallel
 *	Run the entries over the pool, this thread taking part; return once
 *	every runner is back.
 */
static int
slate_parallel(struct sys_slate *sl)
{
	struct mp_kstate *ks = &mp_kstate;
	uint32_t want, k, got, i, v, stop;
	int error = 0;

	if (slate_deps(sl) != 0)
		return EINVAL;
	sl->sl_next = 0;
	sl->sl_stop = 0;
	sl->sl_nran = 0;
	sl->sl_canceled = 0;
	sl->sl_active = 0;

	klock(&ks->ks_lock);
	want = ks->ks_nworkers;
	kunlock(&ks->ks_lock);
	if (want > SLATE_RUNNERS)
		want = SLATE_RUNNERS;
	if (want > sl->sl_n - (sl->sl_n != 0))
		want = sl->sl_n - (sl->sl_n != 0);
	for (got = 0; got < want; got++) {
		msg_t *r = &sl->sl_runner[got];

		memset(r, 0, sizeof(*r));
		r->ms_cmd = KCMD_SLATE;
		r->ms_flags = MSGF_INFLIGHT | MSGF_ASYNC | MSGF_NONBLOCK;
		r->ms_reply_port = &slate_rport;
		r->ms_target = sl->hdr.ms_target;
		r->ms_cookie = sl;
		mp_faa_32(&sl->sl_active, 1);
		if (mp_kreq_submit(r, &slate_runner_cmd, -1, 0, 0, false) != EASYNC) {
			mp_faa_32(&sl->sl_active, (uint32_t)-1);
			break;
		}
	}

	slate_participate(sl);

	/* every entry is claimed: runners not started yet have nothing to do */
	for (k = 0; k < got; k++)
		if (mp_kreq_drop(&sl->sl_runner[k]) == 0)
			slate_runner_back(&slate_rport, &sl->sl_runner[k]);
	while ((v = mp_load_acq_32(&sl->sl_active)) != 0)
		mp_futex_wait(&sl->sl_active, v, NULL);

	for (i = 0; i < sl->sl_n; i++)
		sl->sl_ent[i].se_msg->ms_kstate = NULL;
	stop = mp_load_32(&sl->sl_stop);
	if (mp_load_32(&sl->sl_canceled)) {
		error = ECANCELED;
	} else if (stop != 0) {
		sl->sl_stopped = (int32_t)(stop - 1);
		error = sl->sl_ent[stop - 1].se_msg->ms_error;
	}
	sl->hdr.ms_result = mp_load_32(&sl->sl_nran);
	return error;
}

/*
 * mp_krun_slate
 *	Run a slate (its command's kc_run): judge it, then run it in order
 *	or in parallel.  Its error: 0, the stopping entry's, ECANCELED, or
 *	why it was refused (nothing ran).
 */
int
mp_krun_slate(msg_t *msg)
{
	struct sys_slate *sl = (struct sys_slate *)msg;
	int r;

	msg->ms_result = 0;
	sl->sl_stopped = -1;
	if ((r = slate_judge(sl, sl->sl_probed)) != 0)
		return r;
	if (sl->sl_flags & SLATE_PARALLEL)
		return slate_parallel(sl);
	return slate_inorder(sl);
}

/*
 * mp_ktry_slate
 *	An asynchronous slate, in the sender's thread: refuse a malformed
 *	one at once; else mark every entry to run as canceled, which is what
 *	the user finds if the slate is aborted before it starts, and let the
 *	pool run it (EAGAIN).
 */
int
mp_ktry_slate(msg_t *msg)
{
	struct sys_slate *sl = (struct sys_slate *)msg;
	uint32_t i;
	int r;

	msg->ms_result = 0;
	sl->sl_stopped = -1;
	if ((r = slate_judge(sl, sl->sl_probed)) != 0)
		return r;
	/* (not when re-running: SLATE_AGAIN says which entries to run) */
	for (i = 0; i < sl->sl_n && !sl->sl_rerun; i++)
		slate_notrun(&sl->sl_ent[i], SLATE_CANCELED);
	return EAGAIN;
}

/*
 * The recording calls.
 */
int
slate_init(struct sys_slate *sl, struct slate_entry *ent, unsigned cap, int64_t *regs,
    unsigned nregs)
{
	if (sl == NULL)
		return EFAULT;
	if (cap > SLATE_MAXENTRIES || nregs > SLATE_MAXREGS)
		return E2BIG;
	if ((cap != 0 && ent == NULL) || (nregs != 0 && regs == NULL))
		return EINVAL;
	memset(sl, 0, sizeof(*sl));
	prep_sys(&sl->hdr, KCMD_SLATE);
	sl->sl_ent = ent;
	sl->sl_cap = cap;
	sl->sl_regs = regs;
	sl->sl_nregs = nregs;
	sl->sl_stopped = -1;
	return 0;
}

static int
slate_add_(struct sys_slate *sl, msg_t *msg, size_t msgsize, const struct slate_opts *opts)
{
	static const struct slate_opts none;
	struct slate_entry e;
	int r;

	if (sl == NULL)
		return EFAULT;
	if (sl->sl_n >= sl->sl_cap || sl->sl_ent == NULL)
		return sl->sl_cap >= SLATE_MAXENTRIES ? E2BIG : ENOSPC;
	if (msgsize > UINT32_MAX)
		return EINVAL;
	if (opts == NULL)
		opts = &none;
	memset(&e, 0, sizeof(e));
	e.se_msg = msg;
	e.se_size = (uint32_t)msgsize;
	e.se_out = opts->out;
	e.se_flags = opts->flags;
	e.se_guard = opts->guard;
	e.se_inarg[0] = opts->inarg[0];
	e.se_inarg[1] = opts->inarg[1];
	e.se_inreg[0] = opts->inreg[0];
	e.se_inreg[1] = opts->inreg[1];
	e.se_ga = opts->ga;
	e.se_gb = opts->gb;
	if ((r = slate_check_entry(sl, &e, sl->sl_n)) != 0)
		return r;
	/* the entry array is the user's memory: written as the kernel would */
	if (mp_ucopyout(&sl->sl_ent[sl->sl_n], &e, sizeof(e)) != 0)
		return EFAULT;
	msg->ms_size = (uint32_t)msgsize;
	sl->sl_n++;
	return 0;
}

static int
slate_record_exec_(struct sys_slate *sl, msg_t *msg, size_t msgsize,
    const struct slate_opts *opts)
{
	struct slate_entry *e;
	msgport_t *sp;
	uint32_t req;
	int r;

	if ((sp = sysport()) == NULL)
		return errno;
	if ((r = slate_add_(sl, msg, msgsize, opts)) != 0)
		return r;
	e = &sl->sl_ent[sl->sl_n - 1];
	if (e->se_guard != SLATE_ALWAYS && !slate_guard(sl, e)) {
		slate_notrun(e, SLATE_SKIPPED);
		return 0;
	}
	slate_feed(sl, e);
	/* through the system port, synchronously: refused there, not recorded */
	req = msg->ms_flags & MSGF_REQUESTS;
	msg->ms_flags &= ~MSGF_REQUESTS;
	r = sendsys(sp, msg, msgsize);
	msg->ms_flags |= req;
	if (!(msg->ms_flags & MSGF_DONE)) {
		sl->sl_n--;
		return r;
	}
	return slate_finish(sl, e, r) != 0 ? r : 0;
}

/*
 * slate_run_until
 *	Run sl, then again its entries not done yet, until all are done or
 *	the deadline passes.
 */
static int
slate_run_until_(struct sys_slate *sl, const struct timespec *deadline)
{
	struct timespec now, nap = { 0, 10000 };
	msgport_t *sp;
	uint32_t i;
	bool again;
	int r;

	if (sl == NULL)
		return EFAULT;
	if ((sp = sysport()) == NULL)
		return errno;
	sl->sl_rounds = 0;
	sl->sl_rerun = 0;
	for (;;) {
		r = sendsys(sp, &sl->hdr, sizeof(*sl));
		if (r == EASYNC)
			r = waitsys(sl->hdr.ms_reply_port, &sl->hdr);
		sl->sl_rounds++;
		if (r != 0)
			break;
		for (again = false, i = 0; i < sl->sl_n && !again; i++)
			again = sl->sl_ent[i].se_status == SLATE_AGAIN;
		if (!again)
			break;
		sl->sl_rerun = 1;
		if (deadline != NULL) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline->tv_sec ||
			    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec)) {
				r = ETIMEDOUT;
				break;
			}
		}
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 1000000)
			nap.tv_nsec *= 2;
	}
	sl->sl_rerun = 0;
	return r;
}

/* The library's own calls are never recorded (owncalls-internal.h). */
int
slate_add(struct sys_slate *sl, msg_t *msg, size_t msgsize, const struct slate_opts *opts)
{
	MP_OWNCALLS_BEGIN(own);
	int r = slate_add_(sl, msg, msgsize, opts);

	MP_OWNCALLS_END(own);
	return r;
}

int
slate_record_exec(struct sys_slate *sl, msg_t *msg, size_t msgsize,
    const struct slate_opts *opts)
{
	MP_OWNCALLS_BEGIN(own);
	int r = slate_record_exec_(sl, msg, msgsize, opts);

	MP_OWNCALLS_END(own);
	return r;
}

int
slate_run_until(struct sys_slate *sl, const struct timespec *deadline)
{
	MP_OWNCALLS_BEGIN(own);
	int r = slate_run_until_(sl, deadline);

	MP_OWNCALLS_END(own);
	return r;
}
