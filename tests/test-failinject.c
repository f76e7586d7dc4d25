/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every resource acquisition the library makes, failed one
 * at a time (issue 16 item 8; SQLite's malloc- and I/O-failure tests are
 * the model).  The program itself defines the calls that acquire
 * (allocations, descriptors, threads, timers, rings, epoll registrations):
 * the executable comes first in symbol lookup, so libmsgport.so's calls
 * land here, count while armed, and the Nth fails with the errno the real
 * call would give (ENOMEM, EMFILE, EAGAIN); the rest go on to the real
 * call (dlsym(RTLD_NEXT): libc's, or the sanitizer runtime's).
 *
 * For N = 1, 2, ... a child of its own (a clean process, LeakSanitizer at
 * its exit) arms the injector at N and runs the scenario twice, a start
 * and a restart: sysport_start, a reply port, a synchronous and an
 * asynchronous getpid, a read and a write that wait in the event loop, a
 * pool call (fsync), a plugged read, two asynchronous slate runs (in
 * order, in parallel), an upcall port and a passive one (its POSIX
 * timer), a signal message, a one-shot timer, sysport_stop.  A step that fails must fail with that
 * clear errno, return every message it sent exactly once, and succeed
 * when tried again; then the scenario runs once more, uninjected, and
 * must succeed.  The loop ends at the first N the run never reaches.
 * Under the sanitizers some calls are left alone (see FI_SANITIZED and
 * FI_TSAN below).  By hand: FI_VERBOSE=1 lists what each N failed;
 * FI_DEBUG=n runs the child for n alone and lists the acquisitions.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "kputil.h"
#include "msgport-slate.h"

#define FI_MAXN		400	/* a run with more acquisitions than this is a defect */
#define FI_WAIT_S	20	/* generous: a message not back by then is lost */
#define FI_CHILD_S	120	/* a child still running by then hangs */

/* The injector: count acquisitions while armed, fail the target'th. */
static int fi_armed, fi_paused;
static long fi_count, fi_target;
static const char *fi_what;	/* the call that failed */
static int fi_debug;

static void
fi_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/*
 * Under a sanitizer its runtime allocates through malloc too (at a
 * thread's start, pthread_getattr_np(), which it cannot survive failing):
 * there an allocation counts only when libmsgport or libevent made it
 * itself; libc's on their behalf (in pthread_create) are left to the
 * plain build.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FI_SANITIZED 1
#endif
#endif
#ifndef FI_SANITIZED
#define FI_SANITIZED 0
#endif
#if defined(__SANITIZE_THREAD__)
#define FI_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FI_TSAN 1
#endif
#endif
#ifndef FI_TSAN
#define FI_TSAN 0
#endif

/* The interposers may run inside ThreadSanitizer's own start-up, before
   it can trace a call: none is instrumented. */
#define FI_NOTSAN __attribute__((no_sanitize_thread))

/* The text of libmsgport and libevent, for FI_SANITIZED. */
static struct { uintptr_t lo, hi; } fi_text[8];
static int fi_ntext;

static int
fi_text_add(struct dl_phdr_info *info, size_t size, void *arg)
{
	int i;

	(void)size, (void)arg;
	if (strstr(info->dlpi_name, "libmsgport") == NULL && strstr(info->dlpi_name, "libevent") == NULL)
		return 0;
	for (i = 0; i < info->dlpi_phnum && fi_ntext < 8; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD || !(info->dlpi_phdr[i].p_flags & PF_X))
			continue;
		fi_text[fi_ntext].lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		fi_text[fi_ntext].hi = fi_text[fi_ntext].lo + info->dlpi_phdr[i].p_memsz;
		fi_ntext++;
	}
	return 0;
}

static bool FI_NOTSAN
fi_fail(const char *what)
{
	long n;

	if (!__atomic_load_n(&fi_armed, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&fi_paused, __ATOMIC_ACQUIRE))
		return false;
	n = __atomic_add_fetch(&fi_count, 1, __ATOMIC_ACQ_REL);

	if (fi_debug)		/* FI_DEBUG=n: list the acquisitions */
		fprintf(stderr, "acquisition %ld: %s\n", n, what);
	if (n != __atomic_load_n(&fi_target, __ATOMIC_ACQUIRE))
		return false;
	__atomic_store_n(&fi_what, what, __ATOMIC_RELEASE);
	return true;
}

static void
fi_arm(bool on)
{
	__atomic_store_n(&fi_armed, on, __ATOMIC_RELEASE);
}

/* Around the test's own calls inside a step: not counted. */
static void
fi_pause(bool on)
{
	__atomic_store_n(&fi_paused, on, __ATOMIC_RELEASE);
}

/* The real call behind each interposed one, found on first use. */
#define FI_REAL(name) \
	static __typeof__(name) *real_; \
	if (real_ == NULL) \
		real_ = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/*
 * Under ThreadSanitizer no allocation is interposed: its runtime looks
 * its interceptors up with dlsym() before it is initialised, and
 * dlsym() allocates, into an instrumented function that cannot run yet.
 * The plain and AddressSanitizer builds fail allocations.
 */
#if !FI_TSAN
/* May an allocation from ra count? */
static bool FI_NOTSAN
fi_alloc_counts(void *ra)
{
	int i;

	if (!FI_SANITIZED)
		return true;
	for (i = 0; i < fi_ntext; i++)
		if ((uintptr_t)ra >= fi_text[i].lo && (uintptr_t)ra < fi_text[i].hi)
			return true;
	return false;
}

/* An allocation before dlsym() has found the real one (dlsym may itself
   allocate): from a small arena, never freed. */
static char fi_arena[4096] __attribute__((aligned(64)));
static size_t fi_arenaused;
static int fi_resolving;

static void * FI_NOTSAN
fi_arena_alloc(size_t n)
{
	void *p;

	n = (n + 63) & ~(size_t)63;
	if (fi_arenaused + n > sizeof(fi_arena))
		return NULL;
	p = fi_arena + fi_arenaused;
	fi_arenaused += n;
	return p;
}

void * FI_NOTSAN
malloc(size_t n)
{
	static __typeof__(malloc) *real_;

	if (real_ == NULL) {
		if (fi_resolving)
			return fi_arena_alloc(n);
		fi_resolving = 1;
		real_ = (__typeof__(malloc) *)dlsym(RTLD_NEXT, "malloc");
		fi_resolving = 0;
	}
	if (fi_alloc_counts(__builtin_return_address(0)) && fi_fail("malloc"))
		return errno = ENOMEM, NULL;
	return real_(n);
}

void * FI_NOTSAN
calloc(size_t n, size_t size)
{
	static __typeof__(calloc) *real_;

	if (real_ == NULL) {
		if (fi_resolving)
			return fi_arena_alloc(n * size);	/* the arena is zeroed */
		fi_resolving = 1;
		real_ = (__typeof__(calloc) *)dlsym(RTLD_NEXT, "calloc");
		fi_resolving = 0;
	}
	if (fi_alloc_counts(__builtin_return_address(0)) && fi_fail("calloc"))
		return errno = ENOMEM, NULL;
	return real_(n, size);
}

void * FI_NOTSAN
realloc(void *p, size_t n)
{
	FI_REAL(realloc);
	if (fi_alloc_counts(__builtin_return_address(0)) && fi_fail("realloc"))
		return errno = ENOMEM, NULL;
	return real_(p, n);
}

void * FI_NOTSAN
aligned_alloc(size_t align, size_t n)
{
	FI_REAL(aligned_alloc);
	if (fi_alloc_counts(__builtin_return_address(0)) && fi_fail("aligned_alloc"))
		return errno = ENOMEM, NULL;
	return real_(align, n);
}

int FI_NOTSAN
posix_memalign(void **p, size_t align, size_t n)
{
	FI_REAL(posix_memalign);
	if (fi_alloc_counts(__builtin_return_address(0)) && fi_fail("posix_memalign"))
		return ENOMEM;
	return real_(p, align, n);
}

#endif /* !FI_TSAN */

/* Descriptors: each fails with EMFILE. */
#define FI_FD(what) do { if (fi_fail(what)) return errno = EMFILE, -1; } while (0)
#define FI_FDCALL(name, params, args) \
	int FI_NOTSAN name params { FI_REAL(name); FI_FD(#name); return real_ args; }

FI_FDCALL(eventfd, (unsigned v, int flags), (v, flags))
FI_FDCALL(pipe, (int fd[2]), (fd))
FI_FDCALL(pipe2, (int fd[2], int flags), (fd, flags))
FI_FDCALL(socketpair, (int d, int t, int p, int sv[2]), (d, t, p, sv))
FI_FDCALL(epoll_create1, (int flags), (flags))
FI_FDCALL(timerfd_create, (int clock, int flags), (clock, flags))
FI_FDCALL(dup3, (int old, int new, int flags), (old, new, flags))

int FI_NOTSAN
signalfd(int fd, const sigset_t *set, int flags)
{
	FI_REAL(signalfd);
	if (fd == -1)
		FI_FD("signalfd");
	return real_(fd, set, flags);
}

/* An event loop registration: libevent's event_add() fails through it. */
int FI_NOTSAN
epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	FI_REAL(epoll_ctl);
	if (op != EPOLL_CTL_DEL && fi_fail("epoll_ctl"))
		return errno = ENOMEM, -1;
	return real_(ep, op, fd, ev);
}

/* Threads, thread keys, POSIX timers, mappings, rings. */
int FI_NOTSAN
pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	FI_REAL(pthread_create);
	if (fi_fail("pthread_create"))
		return EAGAIN;
	return real_(t, a, fn, arg);
}

#if !FI_TSAN	/* its runtime makes a key while it starts, before it can run us */
int FI_NOTSAN
pthread_key_create(pthread_key_t *k, void (*fn)(void *))
{
	FI_REAL(pthread_key_create);
	if (fi_fail("pthread_key_create"))
		return EAGAIN;
	return real_(k, fn);
}
#endif

int FI_NOTSAN
timer_create(clockid_t c, struct sigevent *sev, timer_t *t)
{
	FI_REAL(timer_create);
	if (fi_fail("timer_create"))
		return errno = EAGAIN, -1;
	return real_(c, sev, t);
}

#if !FI_TSAN	/* its symbolizer maps memory while it starts */
void * FI_NOTSAN
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	FI_REAL(mmap);
	if (fd >= 0 && fi_fail("mmap"))		/* the ring's; not anonymous memory */
		return errno = ENOMEM, MAP_FAILED;
	return real_(addr, len, prot, flags, fd, off);
}
#endif

long FI_NOTSAN
syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	int i;

	FI_REAL(syscall);
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_io_uring_setup && fi_fail("io_uring_setup"))
		return errno = ENOMEM, -1;
	return real_(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/*
 * The scenario.  A step returns 0, an injected failure's errno, or a
 * negative code: a defect (a message lost or doubled, a wrong result).
 */
struct fi_ctx {
	msgport_t	*rp;
	int		file;		/* a scratch file for fsync and fstat */
};

#define FI_DEFECT(code)	do { fprintf(stderr, "defect %d at line %d\n", (code), __LINE__); \
			     return -(code); } while (0)

/* Take m back (sendsys said EASYNC): its error; nothing else came back. */
static int
fi_take(msgport_t *rp, msg_t *m, int *defect)
{
	struct timespec t = { FI_WAIT_S, 0 };
	int r;

	r = timedwaitsys(rp, m, &t);
	if (r == ETIMEDOUT && !(msgflags(m) & MSGF_DONE))
		*defect = 10;		/* lost */
	else if (getport(rp) != NULL)
		*defect = 11;		/* doubled, or a stray */
	else if (msgflags(m) & MSGF_INFLIGHT && !(msgflags(m) & MSGF_PERSISTENT))
		*defect = 12;
	return r;
}

/* sendsys() and, if it went asynchronous, the return: the call's error. */
static int
fi_send(struct fi_ctx *c, msg_t *m, size_t size)
{
	int r, defect = 0;

	r = sendsys(sysport(), m, size);
	if (r == EASYNC)
		r = fi_take(c->rp, m, &defect);
	else if (getport(c->rp) != NULL)
		defect = 13;		/* done in place, yet queued */
	return defect ? -defect : r;
}

/* Few slots and workers: the loop preallocates an event per slot. */
static int
step_start(struct fi_ctx *c)
{
	struct sysport_attr a;

	(void)c;
	memset(&a, 0, sizeof(a));
	a.sa_slots = 16;
	a.sa_workers = 2;
	return sysport_start(&a);
}

static int
step_port(struct fi_ctx *c)
{
	if ((c->rp = mkport_queue()) == NULL)
		return errno;
	return 0;
}

static int
step_getpid(struct fi_ctx *c)
{
	struct sys_getpid m;
	int r;

	prep_getpid(&m);
	if ((r = sendsys(sysport(), &m.hdr, sizeof(m))) != 0)
		return r;
	if (m.hdr.ms_result != getpid())
		FI_DEFECT(20);
	(void)c;
	return 0;
}

/* A step's end: close its pipe; its outcome. */
static int
fi_endpipe(int p[2], int r, int defect)
{
	close(p[0]), close(p[1]);
	if (defect)
		FI_DEFECT(defect);
	return r;
}

/* An asynchronous call that cannot block: done in place, or returned. */
static int
step_asyncinline(struct fi_ctx *c)
{
	struct sys_getpid m;
	int r;

	prep_getpid(&m);
	prep_async(&m.hdr, c->rp);
	if ((r = fi_send(c, &m.hdr, sizeof(m))) == 0 && m.hdr.ms_result != getpid())
		FI_DEFECT(24);
	return r;
}

/* A read of an empty pipe: it waits in the event loop, then completes. */
static int
step_evread(struct fi_ctx *c)
{
	struct timespec shortwait = { 0, 2000000 };
	struct sys_read m;
	char ch = 0;
	int p[2], r, defect = 0;

	fi_pause(true);
	if (pipe(p) != 0)
		FI_DEFECT(21);
	fi_pause(false);
	prep_read(&m, p[0], &ch, 1);
	prep_async(&m.hdr, c->rp);
	r = sendsys(sysport(), &m.hdr, sizeof(m));
	if (r == EASYNC) {
		r = timedwaitsys(c->rp, &m.hdr, &shortwait);
		if (r == ETIMEDOUT && !(msgflags(&m.hdr) & MSGF_DONE)) {
			/* waiting in the loop, as it should: now the byte */
			if (write(p[1], "r", 1) != 1)
				defect = 22;
			else
				r = fi_take(c->rp, &m.hdr, &defect);
		} else if (getport(c->rp) != NULL) {
			defect = 11;	/* back early (a failure), and again */
		}
	}
	if (r == 0 && (m.hdr.ms_result != 1 || ch != 'r'))
		defect = 23;
	return fi_endpipe(p, r, defect);
}

/* A call that blocks, so the worker pool runs it. */
static int
step_pool(struct fi_ctx *c)
{
	struct sys_fsync m;

	prep_fsync(&m, c->file);
	prep_async(&m.hdr, c->rp);
	return fi_send(c, &m.hdr, sizeof(m));
}

/* A plugged read of a pipe holding a byte: through the thread's ring. */
static int
step_plug(struct fi_ctx *c)
{
	struct sys_read m;
	char ch = 0;
	int p[2], r, u, defect = 0;

	fi_pause(true);
	if (pipe(p) != 0 || write(p[1], "p", 1) != 1)
		FI_DEFECT(30);
	fi_pause(false);
	if ((r = plugsys()) == 0) {
		prep_read(&m, p[0], &ch, 1);
		prep_async(&m.hdr, c->rp);
		r = sendsys(sysport(), &m.hdr, sizeof(m));
		u = unplugsys();
		if (r == EASYNC)
			r = fi_take(c->rp, &m.hdr, &defect);
		if (r == 0 && (m.hdr.ms_result != 1 || ch != 'p'))
			defect = 31;
		if (r == 0)
			r = u;
	}
	return fi_endpipe(p, r, defect);
}

/* An asynchronous slate run, flags (0, SLATE_PARALLEL): getpid, fstat, getpid. */
static int
fi_slate(struct fi_ctx *c, uint32_t flags)
{
	struct sys_slate sl;
	struct slate_entry ent[3];
	int64_t regs[2];
	struct sys_getpid g1, g2;
	struct sys_fstat fs;
	struct stat st;
	int r, i;

	if ((r = slate_init(&sl, ent, 3, regs, 2)) != 0)
		FI_DEFECT(40);
	prep_getpid(&g1);
	prep_fstat(&fs, c->file, &st);
	prep_getpid(&g2);
	if (slate_add(&sl, &g1.hdr, sizeof(g1), NULL) != 0 ||
	    slate_add(&sl, &fs.hdr, sizeof(fs), NULL) != 0 ||
	    slate_add(&sl, &g2.hdr, sizeof(g2), NULL) != 0)
		FI_DEFECT(41);
	sl.sl_flags = flags;
	prep_async(&sl.hdr, c->rp);
	if ((r = fi_send(c, &sl.hdr, sizeof(sl))) != 0)
		return r;
	for (i = 0; i < 3; i++)
		if (ent[i].se_status != SLATE_RAN || ent[i].se_msg->ms_error != 0)
			FI_DEFECT(42);
	if (g1.hdr.ms_result != getpid() || g2.hdr.ms_result != getpid())
		FI_DEFECT(43);
	return 0;
}

/* A slate run in order, then one spread over the pool. */
static int
step_slate(struct fi_ctx *c)
{
	int r = fi_slate(c, 0);

	return r != 0 ? r : fi_slate(c, SLATE_PARALLEL);
}

/*
 * A write to a full pipe: it waits in the loop for room, then completes.
 * NOTE: if the loop cannot register the descriptor (an allocation in
 * libevent, epoll_ctl), the write goes to the pool, which makes the plain
 * call: on this O_NONBLOCK pipe, EAGAIN rather than a wait.
 */
static int
step_evwrite(struct fi_ctx *c)
{
	static char fill[65536], sink[65536];
	struct sys_write m;
	int p[2], r, defect = 0;

	fi_pause(true);
	if (pipe2(p, O_NONBLOCK) != 0)
		FI_DEFECT(25);
	while (write(p[1], fill, sizeof(fill)) > 0)
		continue;
	fi_pause(false);
	prep_write(&m, p[1], "w", 1);
	prep_async(&m.hdr, c->rp);
	r = sendsys(sysport(), &m.hdr, sizeof(m));
	if (r == EASYNC) {
		while (read(p[0], sink, sizeof(sink)) > 0)	/* room: it goes */
			continue;
		r = fi_take(c->rp, &m.hdr, &defect);
	}
	if (r == 0 && m.hdr.ms_result != 1)
		defect = 26;
	return fi_endpipe(p, r, defect);
}

/* An upcall: count and take what came back. */
static void
fi_upcall(msgport_t *port, void *arg)
{
	while (getport(port) != NULL)
		__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

/*
 * fi_upcall_fsync
 *	An asynchronous fsync returned to port, whose upcall counts into
 *	*seen (a passive port's owner takes it itself, here); the error.
 */
static int
fi_upcall_fsync(struct fi_ctx *c, msgport_t *port, int *seen)
{
	struct sys_fsync m;
	int r, i;

	prep_fsync(&m, c->file);
	prep_async(&m.hdr, port);
	if ((r = sendsys(sysport(), &m.hdr, sizeof(m))) != EASYNC)
		return r;
	/* MSGF_DONE may show before the message is on the port: wait for it
	   there (a passive port's owner takes it; so may an upcall's) */
	for (i = 0; i < FI_WAIT_S * 1000 && __atomic_load_n(seen, __ATOMIC_RELAXED) == 0; i++) {
		fi_upcall(port, seen);
		if (__atomic_load_n(seen, __ATOMIC_RELAXED) == 0)
			fi_sleep_ms(1);
	}
	fi_upcall(port, seen);
	if (!(msgflags(&m.hdr) & MSGF_DONE) || __atomic_load_n(seen, __ATOMIC_RELAXED) != 1)
		FI_DEFECT(__atomic_load_n(seen, __ATOMIC_RELAXED) == 0 ? 80 : 81);
	return m.hdr.ms_error;
}

/* An upcall port and a passive one (its POSIX timer), each with a return. */
static int
step_upcall(struct fi_ctx *c)
{
	struct timespec t = { 0, 5000000 };
	msgport_t *up, *pp;
	int seen = 0, r;

	if ((up = mkport_upcall(fi_upcall, &seen)) == NULL)
		return errno;
	r = fi_upcall_fsync(c, up, &seen);
	if (rmport(up) != 0)
		FI_DEFECT(82);
	if (r != 0)
		return r;
	seen = 0;
	if ((pp = mkport_passive(fi_upcall, &seen, &t)) == NULL)
		return errno;
	r = fi_upcall_fsync(c, pp, &seen);
	if (rmport(pp) != 0)
		FI_DEFECT(83);
	return r;
}

/* Take persistent m's returns until its final one; its error. */
static int
fi_final(struct fi_ctx *c, msg_t *m, int r, int *defect)
{
	while (r == 0 && !(msgflags(m) & MSGF_FINAL)) {
		if (rearmsys(m) != 0) {
			*defect = 50;
			return r;
		}
		r = fi_take(c->rp, m, defect);
	}
	if (!(msgflags(m) & MSGF_FINAL) && !*defect)
		*defect = 51;
	return r;
}

/* A signal message: one occurrence, then abortsys() and the final return. */
static int
step_signal(struct fi_ctx *c)
{
	struct sys_signal m;
	int r, defect = 0;

	prep_signal(&m, SIGUSR1, c->rp);
	if ((r = sendsys(sysport(), &m.hdr, sizeof(m))) != EASYNC)
		return r == 0 ? -52 : r;
	fi_pause(true);
	if (raise(SIGUSR1) != 0)
		FI_DEFECT(53);
	fi_pause(false);
	r = fi_take(c->rp, &m.hdr, &defect);
	if (defect)
		FI_DEFECT(defect);
	if (msgflags(&m.hdr) & MSGF_FINAL)
		return r != 0 ? r : -54;	/* ended by a failure */
	if (r != 0 || m.hdr.ms_count < 1 || m.info[0].sg_signo != SIGUSR1)
		FI_DEFECT(55);
	if (abortsys(&m.hdr) != 0)
		FI_DEFECT(56);
	r = fi_final(c, &m.hdr, 0, &defect);
	if (defect || r != ECANCELED)
		FI_DEFECT(defect ? defect : 57);
	return 0;
}

/* A one-shot timer: its one return is its final one. */
static int
step_timer(struct fi_ctx *c)
{
	struct timespec ms = { 0, 1000000 };
	struct sys_timer m;
	int r, defect = 0;

	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms, NULL, c->rp);
	if ((r = sendsys(sysport(), &m.hdr, sizeof(m))) != EASYNC)
		return r == 0 ? -60 : r;
	r = fi_take(c->rp, &m.hdr, &defect);
	if (defect)
		FI_DEFECT(defect);
	if (!(msgflags(&m.hdr) & MSGF_FINAL))
		FI_DEFECT(61);
	if (r == 0 && m.hdr.ms_count != 1)
		FI_DEFECT(62);
	return r;
}

static int
step_stop(struct fi_ctx *c)
{
	int r = sysport_stop();

	if (r == 0 && getport(c->rp) != NULL)
		FI_DEFECT(70);		/* nothing was in flight */
	return r;
}

static const struct fi_step {
	const char	*name;
	int		(*fn)(struct fi_ctx *);
} fi_steps[] = {
	{ "sysport_start", step_start },
	{ "mkport_queue", step_port },
	{ "getpid", step_getpid },
	{ "async getpid", step_asyncinline },
	{ "evloop read", step_evread },
	{ "evloop write", step_evwrite },
	{ "pool fsync", step_pool },
	{ "plugged read", step_plug },
	{ "slate", step_slate },
	{ "upcall ports", step_upcall },
	{ "signal", step_signal },
	{ "timer", step_timer },
	{ "sysport_stop", step_stop },
};
#define FI_NSTEPS	(sizeof(fi_steps) / sizeof(fi_steps[0]))

/* What a child tells its parent. */
struct fi_report {
	int		reached;	/* the target'th acquisition happened */
	int		step;		/* the step that failed, or -1 */
	int		err;		/* its errno */
	char		what[24];	/* the call failed */
	int		nfds;		/* descriptors open after the injected runs */
	int		rings;		/* io_uring mappings then */
};

/* The io_uring mappings this process has: the plugged thread's ring. */
static int
fi_rings(void)
{
	char line[512];
	FILE *f;
	int n = 0;

	if ((f = fopen("/proc/self/maps", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "io_uring") != NULL;
	fclose(f);
	return n;
}

/* The descriptors this process has open. */
static int
fi_nfds(void)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

static bool
fi_clear(int e)
{
	return e == ENOMEM || e == EMFILE || e == ENFILE || e == EAGAIN;
}

/*
 * fi_run
 *	The scenario, each step armed; a failed step must have failed with
 *	a clear errno and then succeed, disarmed.  0, or a defect code.
 *	Round 0 is the first start, round 1 a restart after a stop.
 */
static int
fi_run(struct fi_ctx *c, struct fi_report *rep, int round)
{
	unsigned i;
	int r;

	for (i = 0; i < FI_NSTEPS; i++) {
		fi_arm(true);
		r = fi_steps[i].fn(c);
		fi_arm(false);
		if (r < 0)
			return 100 + (int)i;
		if (r == 0)
			continue;
		if (rep->step >= 0 || !fi_clear(r)) {
			fprintf(stderr, "%s: %s (%s)\n", fi_steps[i].name, strerror(r),
			    rep->step >= 0 ? "a second failure" : "not a clear errno");
			return 100 + (int)i;
		}
		rep->step = round * (int)FI_NSTEPS + (int)i, rep->err = r;
		if ((r = fi_steps[i].fn(c)) != 0) {
			fprintf(stderr, "%s again after the fault: %d (%s)\n", fi_steps[i].name,
			    r, r > 0 ? strerror(r) : "defect");
			return 120 + (int)i;
		}
	}
	return 0;
}

/* The child: the scenario injected at n, then again without; exit status. */
static int
fi_child(long n, int out)
{
	struct fi_report rep = { 0, -1, 0, "", 0, 0 }, again = rep;
	struct fi_ctx c = { NULL, -1 };
	const char *what;
	int r;

	alarm(FI_CHILD_S);
	dl_iterate_phdr(fi_text_add, NULL);
	c.file = open("failinject.tmp", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c.file < 0)
		return 90;
	__atomic_store_n(&fi_target, n, __ATOMIC_RELEASE);
	r = fi_run(&c, &rep, 0);
	if (r == 0 && rmport(c.rp) != 0)	/* and a restart, injected the same way */
		r = 96;
	if (r == 0)
		r = fi_run(&c, &rep, 1);
	rep.reached = __atomic_load_n(&fi_count, __ATOMIC_ACQUIRE) >= n;
	rep.nfds = fi_nfds();
	rep.rings = fi_rings();
	if ((what = __atomic_load_n(&fi_what, __ATOMIC_ACQUIRE)) != NULL)
		snprintf(rep.what, sizeof(rep.what), "%s", what);
	if (r != 0)
		fprintf(stderr, "N=%ld (%s failed): code %d\n", n, rep.what, r);
	if (r == 0) {
		__atomic_store_n(&fi_target, 0, __ATOMIC_RELEASE);	/* again, nothing injected */
		if (rmport(c.rp) != 0)
			r = 92;
		else if ((r = fi_run(&c, &again, 0)) != 0 || again.step >= 0)
			r = r ? r : 95, fprintf(stderr, "N=%ld: the repeat failed: code %d\n", n, r);
	}
	if (r == 0 && rmport(c.rp) != 0)
		r = 93;
	close(c.file);
	if (write(out, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		r = 94;
	return r;
}

/* Run the child for n; its report, and its exit status in *status. */
static struct fi_report
fi_fork(long n, int *status)
{
	struct fi_report rep;
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		exit(fi_child(n, p[1]));	/* exit(): LeakSanitizer runs */
	}
	close(p[1]);
	memset(&rep, 0, sizeof(rep));
	rep.step = -2;
	if (read(p[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		rep.step = -2;
	close(p[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return rep;
}

/*
 * every_acquisition_failed_once
 *	N = 1, 2, ... until the scenario never reaches the Nth acquisition:
 *	at each, the child exits 0 (no defect, no leak, no crash, no hang).
 */
static void
every_acquisition_failed_once(void **s)
{
	unsigned perstep[2 * FI_NSTEPS + 1] = { 0 };
	struct fi_report rep;
	int status;
	unsigned i;
	int nfds, rings;
	long n;

	(void)s;
	/* nothing injected: the descriptors a run leaves open (the signal
	   and timer threads'), and the thread's ring if the kernel gives one;
	   a failure leaves no more descriptors and no fewer rings */
	rep = fi_fork(0, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	nfds = rep.nfds;
	rings = rep.rings;
	assert_true(nfds > 0 && rings >= 0);
	for (n = 1; n <= FI_MAXN; n++) {
		rep = fi_fork(n, &status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			print_error("N=%ld (%s): %s %d\n", n, rep.what,
			    WIFEXITED(status) ? "exit" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			fail();
		}
		assert_true(rep.step >= -1);
		if (rep.nfds > nfds) {
			print_error("N=%ld (%s): %d descriptors open, %d without the failure\n",
			    n, rep.what, rep.nfds, nfds);
			fail();
		}
		if (rep.rings < rings) {	/* a passing failure cost the thread its ring */
			print_error("N=%ld (%s): %d io_uring mappings, %d without the failure\n",
			    n, rep.what, rep.rings, rings);
			fail();
		}
		if (!rep.reached)
			break;
		perstep[rep.step < 0 ? 2 * FI_NSTEPS : (unsigned)rep.step]++;
		if (getenv("FI_VERBOSE"))
			print_message("N=%ld %s: %s %s\n", n, rep.what,
			    rep.step < 0 ? "absorbed" : fi_steps[rep.step % FI_NSTEPS].name,
			    rep.step < 0 ? "" : strerror(rep.err));
	}
	assert_true(n <= FI_MAXN);
	print_message("%ld acquisitions failed one at a time (%d descriptors open after each run"
	    " at most); the failures that reached a step:\n", n - 1, nfds);
	for (i = 0; i < FI_NSTEPS; i++)
		print_message("  %-14s %3u, at the restart %3u\n", fi_steps[i].name, perstep[i],
		    perstep[FI_NSTEPS + i]);
	print_message("  absorbed       %3u (the step succeeded regardless)\n",
	    perstep[2 * FI_NSTEPS]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_acquisition_failed_once),
	};

	if (getenv("FI_DEBUG")) {
		fi_debug = 1;
		return fi_child(atol(getenv("FI_DEBUG")), 2);
	}
	return cmocka_run_group_tests(tests, kp_group_tmpdir, kp_group_rmtree);
}
