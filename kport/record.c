/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * record.c - tape recording: every system call a thread makes between
 * slate_record_begin() and slate_record_end() is trapped by Syscall User
 * Dispatch, made, and appended to a slate (see msgport-slate.h, slate(7)).
 *
 * The mechanism.  prctl(PR_SET_SYSCALL_USER_DISPATCH) makes the kernel
 * turn the thread's system calls into SIGSYS while a selector byte (the
 * thread's rec_self.sel) says BLOCK, except those made from one exempt
 * address range: "the gate", a few stubs below.  The SIGSYS handler
 * switches the selector to ALLOW first, so its own calls (and the
 * library's) are never trapped nor recorded, and makes the user's call
 * through the gate with the selector at BLOCK again, so that a signal
 * handler running while the call waits is recorded like any code of the
 * thread.  It returns through the gate too (its sa_restorer), which lets
 * rt_sigreturn pass while the selector says BLOCK.
 *
 * What cannot be made from inside a handler is made in place, from the
 * gate: a user's rt_sigreturn (it needs the user's stack pointer) and
 * clone/fork/vfork (a child starts where the call returns, on its own
 * stack): the handler returns into a gate stub that makes the call with
 * the user's registers and jumps back to the user's code.  Children
 * start without dispatch (the kernel clears it), so they run unrecorded.
 *
 * What is recorded is table data (rectab.c): per call number its class,
 * its descriptor arguments, whether it returns a descriptor, its buffers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "msgport-slate.h"
#include "owncalls-internal.h"
#include "record-internal.h"
#include "ucopy-internal.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#define REC_ALLOW	0	/* SYSCALL_DISPATCH_FILTER_ALLOW */
#define REC_BLOCK	1	/* SYSCALL_DISPATCH_FILTER_BLOCK */
#define REC_SICODE	2	/* si_code of a dispatch SIGSYS: SYS_USER_DISPATCH */

#define REC_NSITES	64	/* distinct clone/fork call sites the gate serves */
#define REC_STRMAX	4096	/* a copied string's bytes at most, NUL included */

/* The dispatch selector, read by the kernel at each of the thread's
   calls; 0 (ALLOW) while not recording (owncalls-internal.h). */
__thread volatile char mp_rec_sel __attribute__((tls_model("initial-exec")));

/* A recording thread's state. */
struct rec_thread {
	bool		on;
	bool		sigsys_held;	/* SIGSYS was blocked before begin */
	bool		sigsys_asked;	/* the recorded code blocked SIGSYS (not applied) */
	bool		send;		/* msgport-run: calls are sent, not recorded */
	struct sys_slate *sl;
	struct slate_tape *tp;
};

static __thread struct rec_thread rec_self __attribute__((tls_model("initial-exec")));

msgport_t *mp_rec_sysport;	/* msgport-run: where calls are sent */
uint64_t *mp_rec_counts;	/* msgport-run -c: calls, then errors, per number */

#if defined(__x86_64__)

/*
 * The gate.  mp_rec_syscall6: a call with the C convention's arguments.
 * mp_rec_restorer: rt_sigreturn.  mp_rec_sites: REC_NSITES stubs of 8
 * bytes, "syscall; jmp *cell", returning to the call site in cell k.
 */
__asm__(
	".pushsection .text.mp_rec_gate,\"ax\",@progbits\n"
	".balign 64\n"
	".globl mp_rec_gate_start\n.hidden mp_rec_gate_start\n"
	"mp_rec_gate_start:\n"
	".globl mp_rec_syscall6\n.hidden mp_rec_syscall6\n.type mp_rec_syscall6,@function\n"
	"mp_rec_syscall6:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	mov %r8, %r10\n"
	"	mov %r9, %r8\n"
	"	mov 8(%rsp), %r9\n"
	"	syscall\n"
	"	ret\n"
	".size mp_rec_syscall6, .-mp_rec_syscall6\n"
	".globl mp_rec_restorer\n.hidden mp_rec_restorer\n"
	"mp_rec_restorer:\n"
	"	mov $15, %eax\n"	/* rt_sigreturn */
	"	syscall\n"
	"	ud2\n"
	".balign 8\n"
	".globl mp_rec_sites\n.hidden mp_rec_sites\n"
	"mp_rec_sites:\n"
	".set mp_rec_k, 0\n"
	".rept 64\n"
	"	syscall\n"
	"	jmp *(mp_rec_sitecell + 8 * mp_rec_k)(%rip)\n"
	"	.set mp_rec_k, mp_rec_k + 1\n"
	".endr\n"
	".globl mp_rec_gate_end\n.hidden mp_rec_gate_end\n"
	"mp_rec_gate_end:\n"
	".popsection\n");

extern char mp_rec_gate_start[], mp_rec_gate_end[], mp_rec_sites[];
long	mp_rec_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
void	mp_rec_restorer(void);
/* Where each site stub returns to: a call site's address, set once. */
__attribute__((used)) uintptr_t mp_rec_sitecell[REC_NSITES];

_Static_assert(REC_NSITES == 64, "the .rept above");

/* The kernel's struct sigaction (x86-64). */
struct rec_ksigaction {
	void		*ka_handler;
	unsigned long	ka_flags;
	void		*ka_restorer;
	uint64_t	ka_mask;
};
#define REC_SA_RESTORER	0x04000000ul

static void rec_unmask(int sig, const struct rec_ksigaction *ka);
static void rec_unmask_all(void);

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t rec_users;			/* threads recording (rec_lock) */
static struct rec_ksigaction rec_oldact;	/* SIGSYS's action before the first */

#define SIGBIT(s)	(1ull << ((s) - 1))

static inline bool
rec_err(long r)
{
	return (unsigned long)r > -4096ul;
}

/* Made from the gate with the selector at BLOCK: recorded if it traps. */
static long
rec_usercall(long nr, const long *a)
{
	long r;

	mp_rec_sel = REC_BLOCK;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r = mp_rec_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_rec_sel = REC_ALLOW;
	return r;
}

/* msgport-run: the call as a synchronous message to the system port
   (made directly if the port refuses it). */
static long
rec_send(long nr, const long *a)
{
	struct sys_syscall m;
	int e;

	prep_syscall(&m, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	e = sendsys(mp_rec_sysport, &m.hdr, sizeof(m));
	if (!(m.hdr.ms_flags & MSGF_DONE))
		return mp_rec_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	return e != 0 ? -(long)e : (long)m.hdr.ms_result;
}

/* The gate stub returning to site (the address after a syscall): -1 if
   all are taken. */
static int
rec_site(uintptr_t site)
{
	uintptr_t cur;
	int k;

	for (k = 0; k < REC_NSITES; k++) {
		cur = __atomic_load_n(&mp_rec_sitecell[k], __ATOMIC_ACQUIRE);
		if (cur == 0) {
			if (__atomic_compare_exchange_n(&mp_rec_sitecell[k], &cur, site, false,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return k;
		}
		if (cur == site)
			return k;
	}
	return -1;
}

/*
 * The descriptor registers: tp->st_regfd[i] is the descriptor register
 * st_regbase + i stands for, -1 once it is closed.
 */
static unsigned
rec_regof(const struct slate_tape *tp, long fd)
{
	uint32_t i;

	if (fd < 0 || fd > INT32_MAX)
		return 0;
	for (i = 0; i < tp->st_nreg; i++)
		if (tp->st_regfd[i] == fd)
			return tp->st_regbase + i;
	return 0;
}

static void
rec_unmap(struct slate_tape *tp, long lo, long hi)
{
	uint32_t i;

	for (i = 0; i < tp->st_nreg; i++)
		if (tp->st_regfd[i] >= lo && tp->st_regfd[i] <= hi)
			tp->st_regfd[i] = -1;
}

/* Room for n bytes in the arena, 16-aligned; NULL: none left. */
static void *
rec_alloc(struct slate_tape *tp, size_t n)
{
	size_t at = (tp->st_arenaused + 15) & ~(size_t)15;

	if (n > SLATE_COPYMAX || at > tp->st_arenasize || n > tp->st_arenasize - at)
		return NULL;
	tp->st_arenaused = at + n;
	return (char *)tp->st_arena + at;
}

/* A copy of the string at u into the arena; NULL: no room, or bad. */
static void *
rec_copystr(struct slate_tape *tp, const char *u)
{
	char buf[REC_STRMAX];
	size_t have = 0, chunk, len;
	uintptr_t p = (uintptr_t)u;
	void *to;

	while (have < sizeof(buf)) {
		chunk = 4096 - ((p + have) & 4095);	/* never across a page: one may be unmapped */
		if (chunk > sizeof(buf) - have)
			chunk = sizeof(buf) - have;
		if (mp_ucopyin(buf + have, u + have, chunk) != 0)
			return NULL;
		if (memchr(buf + have, 0, chunk) != NULL)
			break;
		have += chunk;
	}
	if ((len = strnlen(buf, sizeof(buf))) == sizeof(buf))
		return NULL;	/* longer than any path */
	if ((to = rec_alloc(tp, len + 1)) != NULL)
		memcpy(to, buf, len + 1);
	return to;
}

/* A buffer's length as the call's arguments say. */
static size_t
rec_buflen(const struct mp_rec_buf *b, const long *a, long nr)
{
	unsigned int len;
	size_t n;

	switch (b->rb_kind) {
	case RB_INLENP:
	case RB_OUTLENP:
		if (a[b->rb_len] == 0 || mp_ucopyin(&len, (void *)a[b->rb_len], sizeof(len)) != 0)
			return 0;
		return len;
	case RB_IOCTL:
		(void)nr;
		return _IOC_SIZE((unsigned long)a[1]);
	}
	if (b->rb_len == RB_NOLEN)
		return b->rb_size;
	n = (size_t)a[b->rb_len];
	if (n > SLATE_COPYMAX)
		return SIZE_MAX;
	return n * b->rb_size;
}

/*
 * rec_copy
 *	SLATE_RECORD_COPY: point the recorded arguments b[] at copies in the
 *	arena: inputs snapshotted, outputs given room of their own.  ENOSPC
 *	if the arena is too small; a pointer that cannot be read stays live.
 */
static int
rec_copy(struct slate_tape *tp, const struct mp_rec_call *rc, long nr, const long *a, long *b)
{
	const struct mp_rec_buf *bf;
	struct iovec iov[64];
	struct iovec *cp;
	size_t len, i, cnt;
	void *to;
	int k;

	for (k = 0; k < 3; k++) {
		bf = &rc->rc_buf[k];
		if (bf->rb_kind == RB_NONE || a[bf->rb_slot] == 0)
			continue;
		if (bf->rb_kind == RB_STR) {
			if ((to = rec_copystr(tp, (const char *)a[bf->rb_slot])) == NULL)
				return tp->st_arenaused + REC_STRMAX > tp->st_arenasize ? ENOSPC : 0;
			b[bf->rb_slot] = (long)to;
			continue;
		}
		if (bf->rb_kind == RB_IOVIN || bf->rb_kind == RB_IOVOUT) {
			cnt = (size_t)a[bf->rb_len];
			if (cnt > 64 || mp_ucopyin(iov, (void *)a[bf->rb_slot], cnt * sizeof(iov[0])) != 0)
				continue;	/* live */
			if ((cp = rec_alloc(tp, cnt * sizeof(iov[0]))) == NULL)
				return ENOSPC;
			for (i = 0; i < cnt; i++) {
				cp[i] = iov[i];
				if (iov[i].iov_len > SLATE_COPYMAX)
					continue;	/* too big to copy: live */
				if ((cp[i].iov_base = rec_alloc(tp, iov[i].iov_len)) == NULL)
					return ENOSPC;
				if (bf->rb_kind == RB_IOVIN &&
				    mp_ucopyin(cp[i].iov_base, iov[i].iov_base, iov[i].iov_len) != 0)
					cp[i].iov_base = iov[i].iov_base;	/* live */
			}
			b[bf->rb_slot] = (long)cp;
			continue;
		}
		if (bf->rb_kind == RB_IOCTL && !(_IOC_DIR((unsigned long)a[1]) & (_IOC_READ | _IOC_WRITE)))
			continue;	/* an integer, or a size the number does not say */
		if ((len = rec_buflen(bf, a, nr)) == 0 || len > SLATE_COPYMAX)
			continue;	/* nothing, or too big to copy: live */
		if ((to = rec_alloc(tp, len)) == NULL)
			return ENOSPC;
		if (bf->rb_kind == RB_OUT || bf->rb_kind == RB_OUTLENP)
			memset(to, 0, len);
		else if (mp_ucopyin(to, (void *)a[bf->rb_slot], len) != 0)
			continue;	/* live */
		b[bf->rb_slot] = (long)to;
	}
	return 0;
}

/* rt_sigprocmask, applied to the mask the handler returns to; SIGSYS
   stays deliverable (the recorded code is told what it asked for). */
static long
rec_sigmask(struct rec_thread *t, ucontext_t *uc, const long *a)
{
	uint64_t cur, set, old;

	if (a[3] != 8)
		return -EINVAL;
	memcpy(&cur, &uc->uc_sigmask, 8);
	old = cur | (t->sigsys_asked ? SIGBIT(SIGSYS) : 0);
	if (a[1] != 0) {
		if (mp_ucopyin(&set, (void *)a[1], 8) != 0)
			return -EFAULT;
		switch (a[0]) {
		case SIG_BLOCK:
			set = old | set;
			break;
		case SIG_UNBLOCK:
			set = old & ~set;
			break;
		case SIG_SETMASK:
			break;
		default:
			return -EINVAL;
		}
	}
	if (a[2] != 0 && mp_ucopyout((void *)a[2], &old, 8) != 0)
		return -EFAULT;
	if (a[1] != 0) {
		set &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
		t->sigsys_asked = (set & SIGBIT(SIGSYS)) != 0;
		set &= ~SIGBIT(SIGSYS);
		memcpy(&uc->uc_sigmask, &set, 8);
	}
	return 0;
}

/*
 * rec_make
 *	Make the trapped call: most through the gate (or, for msgport-run,
 *	as a message to the system port), the signal and dispatch calls as
 *	the recorder must have them.  Returns the raw result (-errno).
 */
static long
rec_make(struct rec_thread *t, ucontext_t *uc, const struct mp_rec_call *rc, long nr,
    const long *a)
{
	struct rec_ksigaction ka;
	uint64_t set;
	long r;

	switch (rc->rc_special) {
	case RS_SIGMASK:
		r = rec_sigmask(t, uc, a);
		break;
	case RS_SIGSUSPEND:
		if (a[1] != 8 || mp_ucopyin(&set, (void *)a[0], 8) != 0) {
			r = a[1] != 8 ? -EINVAL : -EFAULT;
			break;
		}
		set &= ~SIGBIT(SIGSYS);
		{
			long s[6] = { (long)&set, 8, 0, 0, 0, 0 };

			r = rec_usercall(nr, s);
		}
		break;
	case RS_SIGACTION:
		if (a[0] == SIGSYS && a[1] != 0) {
			r = -EBUSY;
			break;
		}
		r = rec_usercall(nr, a);
		if (!rec_err(r) && a[1] != 0 && a[3] == 8 &&
		    mp_ucopyin(&ka, (void *)a[1], sizeof(ka)) == 0)
			rec_unmask((int)a[0], &ka);
		break;
	case RS_PRCTL:
		r = a[0] == PR_SET_SYSCALL_USER_DISPATCH ? -EBUSY : rec_usercall(nr, a);
		break;
	case RS_EXEC:
		/* a new program must not start with our selector */
		mp_rec_syscall6(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0,
		    0, 0);
		r = mp_rec_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		mp_rec_syscall6(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
		    (long)mp_rec_gate_start, mp_rec_gate_end - mp_rec_gate_start, (long)&mp_rec_sel, 0);
		break;
	default:
		r = t->send ? rec_send(nr, a) : rec_usercall(nr, a);
		break;
	}
	return r;
}

/* Is a descriptor argument of the call one a recorded call returned? */
static bool
rec_follows(const struct slate_tape *tp, const struct mp_rec_call *rc, const long *a)
{
	int k;

	for (k = 0; k < 6; k++)
		if (((rc->rc_fds >> k) & 1) && rec_regof(tp, a[k]) != 0)
			return true;
	return false;
}

static bool
rec_newfd(const struct mp_rec_call *rc, const long *a)
{
	if (rc->rc_special == RS_FCNTL)
		return a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC;
	return (rc->rc_flags & RC_NEWFD) != 0;
}

/* The recording has run out of room: the rest runs unrecorded. */
static void
rec_full(struct slate_tape *tp)
{
	if (tp->st_error == 0)
		tp->st_error = ENOSPC;
	tp->st_missed++;
}

/*
 * rec_trap
 *	One trapped call, in the SIGSYS handler with the selector at ALLOW:
 *	make it, store its result in the context, record it.
 */
static void
rec_trap(struct rec_thread *t, ucontext_t *uc)
{
	static const struct mp_rec_call unknown = { .rc_class = SLATE_REC_OTHER };
	greg_t *g = uc->uc_mcontext.gregs;
	struct slate_tape *tp = t->tp;
	struct sys_slate *sl = t->sl;
	const struct mp_rec_call *rc;
	long nr = g[REG_RAX], r, a[6], b[6];
	struct slate_opts o;
	struct slate_entry *e;
	unsigned reg, cls, nin = 0;
	bool rec, isnew;
	int k;

	a[0] = g[REG_RDI], a[1] = g[REG_RSI], a[2] = g[REG_RDX];
	a[3] = g[REG_R10], a[4] = g[REG_R8], a[5] = g[REG_R9];
	rc = nr >= 0 && nr < MP_REC_NSYS && mp_rectab[nr].rc_class != 0 ? &mp_rectab[nr] : &unknown;

	/* (exit never returns: not counted, as strace -c does not) */
	if (mp_rec_counts != NULL && (unsigned long)nr < MP_REC_NSYS && rc->rc_special != RS_EXIT)
		__atomic_fetch_add(&mp_rec_counts[nr], 1, __ATOMIC_RELAXED);
	switch (rc->rc_special) {
	case RS_SIGRETURN:
		g[REG_RIP] = (greg_t)(uintptr_t)mp_rec_restorer;	/* with the user's stack */
		return;
	case RS_CLONE:
		if ((k = rec_site((uintptr_t)g[REG_RIP])) < 0) {
			g[REG_RAX] = -ENOMEM;
			return;
		}
		g[REG_RIP] = (greg_t)(uintptr_t)(mp_rec_sites + 8 * k);
		return;
	default:
		break;
	}

	if (t->send) {
		g[REG_RAX] = r = rec_make(t, uc, rc, nr, a);
		if (rec_err(r) && mp_rec_counts != NULL && (unsigned long)nr < MP_REC_NSYS)
			__atomic_fetch_add(&mp_rec_counts[MP_REC_NSYS + nr], 1, __ATOMIC_RELAXED);
		return;
	}
	cls = rc->rc_class;
	rec = !(rc->rc_flags & RC_NEVER) && ((cls & tp->st_what) ||
	    ((rc->rc_flags & RC_FOLLOW) && rec_follows(tp, rc, a)));
	isnew = rec_newfd(rc, a);
	memcpy(b, a, sizeof(b));
	if (rec && tp->st_error != 0) {
		rec = false;
		tp->st_missed++;
	}
	if (rec && (tp->st_nrec >= tp->st_nmsg || sl->sl_n >= sl->sl_cap ||
	    (isnew && tp->st_regbase + tp->st_nreg >= sl->sl_nregs))) {
		rec = false;
		rec_full(tp);
	}
	if (rec && (tp->st_flags & SLATE_RECORD_COPY) && rec_copy(tp, rc, nr, a, b) != 0) {
		rec = false;
		rec_full(tp);
	}

	/* the registers feeding descriptor arguments, before a close unmaps one */
	memset(&o, 0, sizeof(o));
	for (k = 0; rec && k < 6 && nin < 2; k++)
		if (((rc->rc_fds >> k) & 1) && (reg = rec_regof(tp, a[k])) != 0) {
			o.inarg[nin] = (uint8_t)k;
			o.inreg[nin++] = (uint8_t)reg;
		}

	r = rec_make(t, uc, rc, nr, a);
	g[REG_RAX] = r;

	/* the descriptor numbers: what closed, what a new one replaces */
	if (!rec_err(r)) {
		if (rc->rc_flags & RC_CLOSE)
			rec_unmap(tp, a[0], a[0]);
		if (nr == SYS_close_range)
			rec_unmap(tp, a[0], a[1] > INT32_MAX ? INT32_MAX : a[1]);
	} else if ((rc->rc_flags & RC_CLOSE) && r == -EINTR) {
		rec_unmap(tp, a[0], a[0]);	/* Linux frees the number even then */
	}
	if (!rec)
		goto newfd;
	/* a handler that ran during the call may have recorded its own */
	if (tp->st_error != 0 || tp->st_nrec >= tp->st_nmsg ||
	    (isnew && tp->st_regbase + tp->st_nreg >= sl->sl_nregs)) {
		rec_full(tp);
		goto newfd;
	}
	if (isnew && !rec_err(r))
		o.out = (uint8_t)(tp->st_regbase + tp->st_nreg);
	prep_syscall(&tp->st_msg[tp->st_nrec], nr, b[0], b[1], b[2], b[3], b[4], b[5]);
	if (slate_add(sl, &tp->st_msg[tp->st_nrec].hdr, sizeof(tp->st_msg[0]), &o) != 0) {
		rec_full(tp);
		goto newfd;
	}
	e = &sl->sl_ent[sl->sl_n - 1];
	e->se_msg->ms_result = rec_err(r) ? -1 : r;
	e->se_msg->ms_error = rec_err(r) ? (int32_t)-r : 0;
	e->se_status = SLATE_RAN;
	tp->st_nrec++;
	if (o.out != 0) {
		rec_unmap(tp, r, r);
		sl->sl_regs[o.out] = r;
		tp->st_regfd[tp->st_nreg++] = (int32_t)r;
		return;
	}
newfd:
	if (isnew && !rec_err(r))
		rec_unmap(tp, r, r);	/* an unrecorded descriptor took the number */
}

/* A SIGSYS that is not ours: to the action there was before. */
static void
rec_chain(int sig, siginfo_t *si, void *uc)
{
	void (*h)(int, siginfo_t *, void *) = (void (*)(int, siginfo_t *, void *))rec_oldact.ka_handler;

	if (rec_oldact.ka_handler == (void *)SIG_IGN)
		return;
	if (rec_oldact.ka_handler != (void *)SIG_DFL) {
		if (rec_oldact.ka_flags & SA_SIGINFO)
			h(sig, si, uc);
		else
			((void (*)(int))rec_oldact.ka_handler)(sig);
		return;
	}
	/* the default: die of it, as without us */
	mp_rec_syscall6(SYS_rt_sigaction, SIGSYS, (long)&rec_oldact, 0, 8, 0, 0);
	mp_rec_syscall6(SYS_tgkill, mp_rec_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0),mp_rec_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0),
	    SIGSYS, 0, 0, 0);
}

static void
rec_sigsys(int sig, siginfo_t *si, void *ucv)
{
	struct rec_thread *t = &rec_self;
	int saved;

	if (si->si_code != REC_SICODE || !t->on) {
		rec_chain(sig, si, ucv);
		return;
	}
	mp_rec_sel = REC_ALLOW;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	saved = errno;
	rec_trap(t, ucv);
	errno = saved;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_rec_sel = REC_BLOCK;
}

/* SIGSYS to rec_sigsys while anyone records; its own flags: SA_NODEFER
   (a handler interrupting a recorded call is recorded too), no mask (the
   user's mask is what a recorded call runs with). */
static int
rec_install(void)
{
	struct rec_ksigaction ka = {
		.ka_handler = (void *)rec_sigsys,
		.ka_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | REC_SA_RESTORER,
		.ka_restorer = (void *)mp_rec_restorer,
		.ka_mask = 0,
	};
	int r = 0;

	pthread_mutex_lock(&rec_lock);
	if (rec_users == 0 &&
	    rec_err(mp_rec_syscall6(SYS_rt_sigaction, SIGSYS, (long)&ka, (long)&rec_oldact, 8, 0, 0)))
		r = ENOSYS;
	if (r == 0 && rec_users++ == 0)
		rec_unmask_all();
	pthread_mutex_unlock(&rec_lock);
	return r;
}

/*
 * A handler running with SIGSYS blocked would be killed by its first
 * trapped call (the kernel cannot deliver a blocked SIGSYS it forces):
 * every handler's mask leaves SIGSYS out while anyone records, those
 * there at the start (rec_unmask_all) and those set meanwhile.
 */
static void
rec_unmask(int sig, const struct rec_ksigaction *ka)
{
	struct rec_ksigaction k = *ka;

	if (k.ka_handler == (void *)SIG_DFL || k.ka_handler == (void *)SIG_IGN ||
	    !(k.ka_mask & SIGBIT(SIGSYS)))
		return;
	k.ka_mask &= ~SIGBIT(SIGSYS);
	mp_rec_syscall6(SYS_rt_sigaction, sig, (long)&k, 0, 8, 0, 0);
}

static void
rec_unmask_all(void)
{
	struct rec_ksigaction ka;
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGSYS &&
		    !rec_err(mp_rec_syscall6(SYS_rt_sigaction, sig, 0, (long)&ka, 8, 0, 0)))
			rec_unmask(sig, &ka);
}

static void
rec_uninstall(void)
{
	pthread_mutex_lock(&rec_lock);
	if (--rec_users == 0)
		mp_rec_syscall6(SYS_rt_sigaction, SIGSYS, (long)&rec_oldact, 0, 8, 0, 0);
	pthread_mutex_unlock(&rec_lock);
}

int
slate_record_begin(struct sys_slate *sl, struct slate_tape *tp, unsigned what, unsigned flags)
{
	struct rec_thread *t = &rec_self;
	sigset_t sys, old;
	uint32_t i;
	int r;

	if (sl == NULL || tp == NULL)
		return EFAULT;
	if (what == 0 || (what & ~SLATE_REC_ALL) || (flags & ~SLATE_RECORD_FLAGS) ||
	    (tp->st_nmsg != 0 && tp->st_msg == NULL) ||
	    (tp->st_arenasize != 0 && tp->st_arena == NULL) || tp->st_regbase >= SLATE_MAXREGS)
		return EINVAL;
	if (t->on)
		return EBUSY;
	if ((r = slate_check(sl)) != 0)
		return r;
	tp->st_regbase = tp->st_regbase ? tp->st_regbase : 1;
	tp->st_what = what;
	tp->st_flags = flags;
	tp->st_error = 0;
	tp->st_nrec = 0;
	tp->st_nreg = 0;
	tp->st_arenaused = 0;
	tp->st_missed = 0;
	for (i = 0; i < SLATE_MAXREGS; i++)
		tp->st_regfd[i] = -1;
	if ((r = rec_install()) != 0)
		return r;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, &old);
	t->sigsys_held = sigismember(&old, SIGSYS);
	t->sigsys_asked = t->sigsys_held;
	t->sl = sl;
	t->tp = tp;
	mp_rec_sel = REC_ALLOW;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (unsigned long)mp_rec_gate_start,
	    (unsigned long)(mp_rec_gate_end - mp_rec_gate_start), &mp_rec_sel) != 0) {
		if (t->sigsys_held)
			pthread_sigmask(SIG_BLOCK, &sys, NULL);
		rec_uninstall();
		t->sl = NULL;
		t->tp = NULL;
		return ENOSYS;
	}
	t->on = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_rec_sel = REC_BLOCK;	/* from here on every call of the thread traps */
	return 0;
}

/*
 * mp_rec_run_thread
 *	msgport-run: from now on every call of this thread is sent to the
 *	system port as a message (mp_rec_sysport, set first).  Until the
 *	thread ends; 0 or ENOSYS.
 */
int
mp_rec_run_thread(void)
{
	struct rec_thread *t = &rec_self;
	sigset_t sys;

	if (t->on || mp_rec_sysport == NULL)
		return EBUSY;
	if (rec_install() != 0)
		return ENOSYS;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	t->send = true;
	mp_rec_sel = REC_ALLOW;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (unsigned long)mp_rec_gate_start,
	    (unsigned long)(mp_rec_gate_end - mp_rec_gate_start), &mp_rec_sel) != 0) {
		rec_uninstall();
		t->send = false;
		return ENOSYS;
	}
	t->on = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_rec_sel = REC_BLOCK;
	return 0;
}

/* A forked child starts without dispatch: its state says so too. */
void
mp_rec_forget(void)
{
	rec_self.on = false;
	rec_self.send = false;
	mp_rec_sel = REC_ALLOW;
}

int
slate_record_end(struct sys_slate *sl)
{
	struct rec_thread *t = &rec_self;
	sigset_t sys;
	bool held;

	if (!t->on || t->send || sl == NULL || t->sl != sl)
		return EINVAL;
	mp_rec_sel = REC_ALLOW;	/* before any call of ours */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	t->on = false;
	held = t->sigsys_asked;
	rec_uninstall();
	if (held) {
		sigemptyset(&sys);
		sigaddset(&sys, SIGSYS);
		pthread_sigmask(SIG_BLOCK, &sys, NULL);
	}
	t->sl = NULL;
	return t->tp->st_error;
}

#else	/* no Syscall User Dispatch for this architecture here */

int
slate_record_begin(struct sys_slate *sl, struct slate_tape *tp, unsigned what, unsigned flags)
{
	if (sl == NULL || tp == NULL)
		return EFAULT;
	if (what == 0 || (what & ~SLATE_REC_ALL) || (flags & ~SLATE_RECORD_FLAGS))
		return EINVAL;
	return rec_self.on ? EBUSY : ENOSYS;
}

int
slate_record_end(struct sys_slate *sl)
{
	(void)sl;
	return EINVAL;
}

int
mp_rec_run_thread(void)
{
	return ENOSYS;
}

void
mp_rec_forget(void)
{
}

#endif
