/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgport-sys.h - system calls as messages to the system port.
 *
 * Each system call has a message: the msg_t header first, then the
 * call's arguments, as DragonFly's struct sysmsg.  Fill one with its
 * prep_*() helper, send it to sysport() with sendsys(), and find the
 * value the call would have returned in hdr.ms_result (-1 on failure)
 * and its errno in hdr.ms_error:
 *
 *	struct sys_pread m;
 *
 *	prep_pread(&m, fd, buf, sizeof(buf), 0);
 *	if (sendsys(sysport(), &m.hdr, sizeof(m)) == 0)
 *		use(buf, m.hdr.ms_result);
 *
 * A synchronous message runs in the caller's thread: sendsys() returns 0
 * or the call's errno.  An asynchronous one (prep_async()) is first tried
 * without blocking; if that finishes it, sendsys() returns its outcome
 * (0 or the errno) at once and the message is NOT returned to the reply
 * port: only EASYNC means "it will be returned later".  See sysport(3).
 *
 * Errors follow msgport.h's one convention: calls return 0 or an errno.
 * Pointers inside the arguments are handed to the real system call
 * unread, so a bad one comes back as the call's EFAULT.
 */
#ifndef MSGPORT_SYS_H
#define MSGPORT_SYS_H

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <msgport.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __GNUC__
#pragma GCC visibility push(default)	/* see msgport.h */
#endif

/*
 * The system port's commands (ms_cmd).  0 is never a command.  The
 * numbers are ABI: a new command is only ever appended, before KCMD_MAX.
 */
enum {
	KCMD_OPENAT = 1,	/* open(), openat() */
	KCMD_CLOSE,
	KCMD_READ,
	KCMD_WRITE,
	KCMD_PREAD,
	KCMD_PWRITE,
	KCMD_READV,
	KCMD_WRITEV,
	KCMD_LSEEK,
	KCMD_FSTAT,
	KCMD_FSTATAT,		/* stat(), lstat(), fstatat() */
	KCMD_STATX,
	KCMD_FSYNC,
	KCMD_FDATASYNC,
	KCMD_FTRUNCATE,
	KCMD_GETDENTS64,
	KCMD_MKDIRAT,		/* mkdir(), mkdirat() */
	KCMD_UNLINKAT,		/* unlink(), rmdir(), unlinkat() */
	KCMD_RENAMEAT,		/* rename(), renameat() */
	KCMD_SOCKET,
	KCMD_BIND,
	KCMD_LISTEN,
	KCMD_ACCEPT4,
	KCMD_CONNECT,
	KCMD_SENDTO,		/* send(), sendto() */
	KCMD_RECVFROM,		/* recv(), recvfrom() */
	KCMD_SENDMSG,
	KCMD_RECVMSG,
	KCMD_SHUTDOWN,
	KCMD_POLL,
	KCMD_NANOSLEEP,
	KCMD_GETPID,
	KCMD_KILL,
	KCMD_WAITPID,
	KCMD_SYSCALL,		/* the generic indirect message */
	KCMD_SIGNAL,		/* persistent: a signal's occurrences */
	KCMD_TIMER,		/* persistent: a timer's expiries */
	KCMD_SLATE,		/* a batch of messages: struct sys_slate, msgport-slate.h */
	KCMD_FSTATATV,		/* fstatat() of many names in one message */
	KCMD_SENDFILE,
	KCMD_MAX		/* not a command: one past the last */
};

/* The messages: header first, then the arguments, in the call's order. */
struct sys_openat	{ msg_t hdr; int dirfd; const char *path; int flags; mode_t mode; };
struct sys_close	{ msg_t hdr; int fd; };
struct sys_read		{ msg_t hdr; int fd; void *buf; size_t count; };
struct sys_write	{ msg_t hdr; int fd; const void *buf; size_t count; };
struct sys_pread	{ msg_t hdr; int fd; void *buf; size_t count; off_t offset; };
struct sys_pwrite	{ msg_t hdr; int fd; const void *buf; size_t count; off_t offset; };
struct sys_readv	{ msg_t hdr; int fd; const struct iovec *iov; int iovcnt; };
struct sys_writev	{ msg_t hdr; int fd; const struct iovec *iov; int iovcnt; };
struct sys_lseek	{ msg_t hdr; int fd; off_t offset; int whence; };
struct sys_fstat	{ msg_t hdr; int fd; struct stat *st; };
struct sys_fstatat	{ msg_t hdr; int dirfd; const char *path; struct stat *st; int flags; };
struct statx;
struct sys_statx	{ msg_t hdr; int dirfd; const char *path; int flags; unsigned mask; struct statx *stx; };
struct sys_fsync	{ msg_t hdr; int fd; };
struct sys_ftruncate	{ msg_t hdr; int fd; off_t length; };
struct sys_getdents64	{ msg_t hdr; int fd; void *buf; size_t count;
			  int eof; };	/* out: the end was reached (see prep_sys(3)) */
struct sys_mkdirat	{ msg_t hdr; int dirfd; const char *path; mode_t mode; };
struct sys_unlinkat	{ msg_t hdr; int dirfd; const char *path; int flags; };
struct sys_renameat	{ msg_t hdr; int olddirfd; const char *oldpath; int newdirfd; const char *newpath; };
struct sys_sendfile	{ msg_t hdr; int out_fd; int in_fd; off_t *offset; size_t count; };
struct sys_socket	{ msg_t hdr; int domain; int type; int protocol; };
struct sys_bind		{ msg_t hdr; int fd; const struct sockaddr *addr; socklen_t addrlen; };
struct sys_listen	{ msg_t hdr; int fd; int backlog; };
struct sys_accept4	{ msg_t hdr; int fd; struct sockaddr *addr; socklen_t *addrlen; int flags; };
struct sys_connect	{ msg_t hdr; int fd; const struct sockaddr *addr; socklen_t addrlen; };
struct sys_sendto	{ msg_t hdr; int fd; const void *buf; size_t len; int flags;
			  const struct sockaddr *addr; socklen_t addrlen; };
struct sys_recvfrom	{ msg_t hdr; int fd; void *buf; size_t len; int flags;
			  struct sockaddr *addr; socklen_t *addrlen; };
struct sys_sendmsg	{ msg_t hdr; int fd; const struct msghdr *mh; int flags; };
struct sys_recvmsg	{ msg_t hdr; int fd; struct msghdr *mh; int flags; };
struct sys_shutdown	{ msg_t hdr; int fd; int how; };
struct sys_poll		{ msg_t hdr; struct pollfd *fds; nfds_t nfds; int timeout; };
struct sys_nanosleep	{ msg_t hdr; const struct timespec *req; struct timespec *rem; };
struct sys_getpid	{ msg_t hdr; };
struct sys_kill		{ msg_t hdr; pid_t pid; int sig; };
struct sys_waitpid	{ msg_t hdr; pid_t pid; int *status; int options; };
struct sys_syscall	{ msg_t hdr; long nr; long args[6]; };

/*
 * fstatat() of n names relative to one directory, in one message: a
 * directory's worth of lstat()s at the cost of one hand-off (see
 * prep_fstatatv(3)).  st[i] and errs[i] (0 or the errno) are name[i]'s
 * outcome; ms_result counts the names that succeeded.
 */
#define FSTATATV_MAX	1024	/* names per message: EINVAL beyond */
struct sys_fstatatv	{ msg_t hdr; int dirfd; const char *const *names; struct stat *st;
			  int *errs; unsigned n; int flags; };

/*
 * Persistent messages: signals and timers (see prep_signal(3),
 * prep_timer(3), rearmsys(3)).  Both are sent with MSGF_ASYNC |
 * MSGF_PERSISTENT (their prep helpers set them) and stay in flight,
 * returned to their reply port once per occurrence, until abortsys().
 * In every return hdr.ms_count (and hdr.ms_result) is the number of
 * occurrences it reports: those since the previous return.
 */

/*
 * One occurrence of a signal, from its siginfo_t.  Strict ISO C (gcc
 * -std=c11) has no union sigval, which is POSIX: there sg_value is a
 * union of the same layout and member names.
 */
struct sig_info {
	int		sg_signo;
	int		sg_code;	/* SI_USER (kill), SI_QUEUE (sigqueue), ... */
	pid_t		sg_pid;		/* the sender, for SI_USER and SI_QUEUE */
	uid_t		sg_uid;
#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 199309L
	union sigval	sg_value;	/* SI_QUEUE: the value sent */
#else
	union { int sival_int; void *sival_ptr; } sg_value;
#endif
};

/* The most occurrences whose info one return carries. */
#define SIGMSG_QMAX	32

struct sys_signal {
	msg_t		hdr;
	int		signo;		/* in: 1..SIGRTMAX, not SIGKILL, SIGSTOP, a fault */
	uint32_t	qmax;		/* in: infos kept while held, 1..SIGMSG_QMAX */
	uint32_t	ninfo;		/* out: info[] entries filled, min(ms_count, qmax) */
	uint32_t	pad_;
	uint64_t	dropped;	/* out: occurrences without info: ms_count - ninfo */
	struct sig_info	info[SIGMSG_QMAX];	/* out: oldest first */
};

/* sys_timer flags; TIMER_ABSTIME comes from <time.h>. */
#define TIMER_CANCEL_ON_SET	0x2	/* CLOCK_REALTIME, absolute: end when the clock is set */

struct sys_timer {
	msg_t		hdr;
	clockid_t	clock;		/* in: CLOCK_MONOTONIC or CLOCK_REALTIME */
	int		flags;		/* in: TIMER_ABSTIME, TIMER_CANCEL_ON_SET */
	struct timespec	value;		/* in: first expiry, from now or absolute; not 0 */
	struct timespec	interval;	/* in: period; 0: one-shot */
	uint64_t	overruns;	/* out: expiries beyond the first: ms_count - 1 */
};

/*
 * The system port: the emulated kernel.  sysport() returns it, starting
 * it with the defaults on first use (NULL with errno set if that fails).
 * sysport_start() starts it with attributes (EBUSY: already running);
 * sysport_stop() returns every message in flight with ECANCELED, after
 * which sends are refused with EPIPE until the next sysport_start().
 * In a child after fork(), sends are refused with EOWNERDEAD until the
 * child calls sysport_start().  Zero the whole struct sysport_attr (an
 * initialiser does) and set what you need: later fields take words of
 * sa_reserved, which keeps its size, so a program built against a later
 * header runs with this library of the same soname (EINVAL if it set a
 * field this one does not know).
 */
struct sysport_attr {
	unsigned	sa_workers;	/* worker threads; 0: $MSGPORT_WORKERS or CPUs (min 2) */
	unsigned	sa_slots;	/* async messages in flight at most; 0: $MSGPORT_SLOTS or 4096 */
	int		sa_intrsig;	/* signal that interrupts a worker; 0: SIGRTMAX - 2 */
	int		sa_noring;	/* nonzero: plugged threads try messages one by one,
					   not in an io_uring (also $MSGPORT_NORING=1); plugsys(3) */
	uint32_t	sa_reserved[12];	/* room to grow: must be zero (EINVAL) */
};

msgport_t *sysport(void);
int	sysport_start(const struct sysport_attr *attr);
int	sysport_stop(void);

/* Hold this thread's asynchronous messages back and try them together,
   in one system call (plugsys(3)). */
int	plugsys(void);
int	unplugsys(void);

/*
 * The prep helpers.  Each sets up a synchronous message (header zeroed,
 * no reply port) and its arguments; prep_async() then makes it
 * asynchronous, returned to rport (NULL: poll MSGF_DONE or waitsys(NULL)).
 */
static inline void
prep_sys(msg_t *hdr, uint32_t cmd)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->ms_cmd = cmd;
}

static inline void
prep_async(msg_t *hdr, msgport_t *rport)
{
	hdr->ms_flags |= MSGF_ASYNC;
	hdr->ms_reply_port = rport;
}

#define PREP_(m, cmd) prep_sys(&(m)->hdr, (cmd))

/*
 * Linux's AT_FDCWD, for the calls that name no directory.  <fcntl.h>
 * defines it only for POSIX 2008 and later, and this header must compile
 * with no feature-test macro (-std=c11); the value is the kernel's ABI.
 */
#define PREP_AT_FDCWD_	(-100)

/* Persistent messages: asynchronous and persistent, returned to rport. */
static inline void
prep_signal(struct sys_signal *m, int signo, msgport_t *rport)
{
	PREP_(m, KCMD_SIGNAL);
	prep_async(&m->hdr, rport);
	m->hdr.ms_flags |= MSGF_PERSISTENT;
	m->signo = signo;
	m->qmax = SIGMSG_QMAX;
	m->ninfo = 0;
	m->dropped = 0;
}

static inline void
prep_timer(struct sys_timer *m, clockid_t clock, int flags, const struct timespec *value,
    const struct timespec *interval, msgport_t *rport)
{
	static const struct timespec zero = { 0, 0 };	/* C++ wants it initialised */

	PREP_(m, KCMD_TIMER);
	prep_async(&m->hdr, rport);
	m->hdr.ms_flags |= MSGF_PERSISTENT;
	m->clock = clock;
	m->flags = flags;
	m->value = value ? *value : zero;
	m->interval = interval ? *interval : zero;
	m->overruns = 0;
}

static inline void
prep_openat(struct sys_openat *m, int dirfd, const char *path, int flags, mode_t mode)
{
	PREP_(m, KCMD_OPENAT);
	m->dirfd = dirfd, m->path = path, m->flags = flags, m->mode = mode;
}

static inline void
prep_open(struct sys_openat *m, const char *path, int flags, mode_t mode)
{
	prep_openat(m, PREP_AT_FDCWD_, path, flags, mode);
}

static inline void
prep_close(struct sys_close *m, int fd)
{
	PREP_(m, KCMD_CLOSE);
	m->fd = fd;
}

static inline void
prep_read(struct sys_read *m, int fd, void *buf, size_t count)
{
	PREP_(m, KCMD_READ);
	m->fd = fd, m->buf = buf, m->count = count;
}

static inline void
prep_write(struct sys_write *m, int fd, const void *buf, size_t count)
{
	PREP_(m, KCMD_WRITE);
	m->fd = fd, m->buf = buf, m->count = count;
}

static inline void
prep_pread(struct sys_pread *m, int fd, void *buf, size_t count, off_t offset)
{
	PREP_(m, KCMD_PREAD);
	m->fd = fd, m->buf = buf, m->count = count, m->offset = offset;
}

static inline void
prep_pwrite(struct sys_pwrite *m, int fd, const void *buf, size_t count, off_t offset)
{
	PREP_(m, KCMD_PWRITE);
	m->fd = fd, m->buf = buf, m->count = count, m->offset = offset;
}

static inline void
prep_readv(struct sys_readv *m, int fd, const struct iovec *iov, int iovcnt)
{
	PREP_(m, KCMD_READV);
	m->fd = fd, m->iov = iov, m->iovcnt = iovcnt;
}

static inline void
prep_writev(struct sys_writev *m, int fd, const struct iovec *iov, int iovcnt)
{
	PREP_(m, KCMD_WRITEV);
	m->fd = fd, m->iov = iov, m->iovcnt = iovcnt;
}

static inline void
prep_lseek(struct sys_lseek *m, int fd, off_t offset, int whence)
{
	PREP_(m, KCMD_LSEEK);
	m->fd = fd, m->offset = offset, m->whence = whence;
}

static inline void
prep_fstat(struct sys_fstat *m, int fd, struct stat *st)
{
	PREP_(m, KCMD_FSTAT);
	m->fd = fd, m->st = st;
}

static inline void
prep_fstatat(struct sys_fstatat *m, int dirfd, const char *path, struct stat *st, int flags)
{
	PREP_(m, KCMD_FSTATAT);
	m->dirfd = dirfd, m->path = path, m->st = st, m->flags = flags;
}

static inline void
prep_stat(struct sys_fstatat *m, const char *path, struct stat *st)
{
	prep_fstatat(m, PREP_AT_FDCWD_, path, st, 0);
}

static inline void
prep_lstat(struct sys_fstatat *m, const char *path, struct stat *st)
{
	prep_fstatat(m, PREP_AT_FDCWD_, path, st, 0x100 /* AT_SYMLINK_NOFOLLOW */);
}

static inline void
prep_fstatatv(struct sys_fstatatv *m, int dirfd, const char *const *names, struct stat *st,
    int *errs, unsigned n, int flags)
{
	PREP_(m, KCMD_FSTATATV);
	m->dirfd = dirfd, m->names = names, m->st = st, m->errs = errs, m->n = n, m->flags = flags;
}

static inline void
prep_statx(struct sys_statx *m, int dirfd, const char *path, int flags, unsigned mask,
    struct statx *stx)
{
	PREP_(m, KCMD_STATX);
	m->dirfd = dirfd, m->path = path, m->flags = flags, m->mask = mask, m->stx = stx;
}

static inline void
prep_fsync(struct sys_fsync *m, int fd)
{
	PREP_(m, KCMD_FSYNC);
	m->fd = fd;
}

static inline void
prep_fdatasync(struct sys_fsync *m, int fd)
{
	PREP_(m, KCMD_FDATASYNC);
	m->fd = fd;
}

static inline void
prep_ftruncate(struct sys_ftruncate *m, int fd, off_t length)
{
	PREP_(m, KCMD_FTRUNCATE);
	m->fd = fd, m->length = length;
}

static inline void
prep_getdents64(struct sys_getdents64 *m, int fd, void *buf, size_t count)
{
	PREP_(m, KCMD_GETDENTS64);
	m->fd = fd, m->buf = buf, m->count = count, m->eof = 0;
}

static inline void
prep_mkdirat(struct sys_mkdirat *m, int dirfd, const char *path, mode_t mode)
{
	PREP_(m, KCMD_MKDIRAT);
	m->dirfd = dirfd, m->path = path, m->mode = mode;
}

static inline void
prep_mkdir(struct sys_mkdirat *m, const char *path, mode_t mode)
{
	prep_mkdirat(m, PREP_AT_FDCWD_, path, mode);
}

static inline void
prep_unlinkat(struct sys_unlinkat *m, int dirfd, const char *path, int flags)
{
	PREP_(m, KCMD_UNLINKAT);
	m->dirfd = dirfd, m->path = path, m->flags = flags;
}

static inline void
prep_unlink(struct sys_unlinkat *m, const char *path)
{
	prep_unlinkat(m, PREP_AT_FDCWD_, path, 0);
}

static inline void
prep_renameat(struct sys_renameat *m, int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath)
{
	PREP_(m, KCMD_RENAMEAT);
	m->olddirfd = olddirfd, m->oldpath = oldpath;
	m->newdirfd = newdirfd, m->newpath = newpath;
}

static inline void
prep_rename(struct sys_renameat *m, const char *oldpath, const char *newpath)
{
	prep_renameat(m, PREP_AT_FDCWD_, oldpath, PREP_AT_FDCWD_, newpath);
}

/* offset NULL: from in_fd's position, which moves; else from *offset,
   which is updated (sendfile(2)).  An out_fd in non-blocking mode waits
   for room in the event loop. */
static inline void
prep_sendfile(struct sys_sendfile *m, int out_fd, int in_fd, off_t *offset, size_t count)
{
	PREP_(m, KCMD_SENDFILE);
	m->out_fd = out_fd, m->in_fd = in_fd, m->offset = offset, m->count = count;
}

static inline void
prep_socket(struct sys_socket *m, int domain, int type, int protocol)
{
	PREP_(m, KCMD_SOCKET);
	m->domain = domain, m->type = type, m->protocol = protocol;
}

static inline void
prep_bind(struct sys_bind *m, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	PREP_(m, KCMD_BIND);
	m->fd = fd, m->addr = addr, m->addrlen = addrlen;
}

static inline void
prep_listen(struct sys_listen *m, int fd, int backlog)
{
	PREP_(m, KCMD_LISTEN);
	m->fd = fd, m->backlog = backlog;
}

static inline void
prep_accept4(struct sys_accept4 *m, int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	PREP_(m, KCMD_ACCEPT4);
	m->fd = fd, m->addr = addr, m->addrlen = addrlen, m->flags = flags;
}

static inline void
prep_connect(struct sys_connect *m, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	PREP_(m, KCMD_CONNECT);
	m->fd = fd, m->addr = addr, m->addrlen = addrlen;
}

static inline void
prep_sendto(struct sys_sendto *m, int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *addr, socklen_t addrlen)
{
	PREP_(m, KCMD_SENDTO);
	m->fd = fd, m->buf = buf, m->len = len, m->flags = flags;
	m->addr = addr, m->addrlen = addrlen;
}

static inline void
prep_send(struct sys_sendto *m, int fd, const void *buf, size_t len, int flags)
{
	prep_sendto(m, fd, buf, len, flags, NULL, 0);
}

static inline void
prep_recvfrom(struct sys_recvfrom *m, int fd, void *buf, size_t len, int flags,
    struct sockaddr *addr, socklen_t *addrlen)
{
	PREP_(m, KCMD_RECVFROM);
	m->fd = fd, m->buf = buf, m->len = len, m->flags = flags;
	m->addr = addr, m->addrlen = addrlen;
}

static inline void
prep_recv(struct sys_recvfrom *m, int fd, void *buf, size_t len, int flags)
{
	prep_recvfrom(m, fd, buf, len, flags, NULL, NULL);
}

static inline void
prep_sendmsg(struct sys_sendmsg *m, int fd, const struct msghdr *mh, int flags)
{
	PREP_(m, KCMD_SENDMSG);
	m->fd = fd, m->mh = mh, m->flags = flags;
}

static inline void
prep_recvmsg(struct sys_recvmsg *m, int fd, struct msghdr *mh, int flags)
{
	PREP_(m, KCMD_RECVMSG);
	m->fd = fd, m->mh = mh, m->flags = flags;
}

static inline void
prep_shutdown(struct sys_shutdown *m, int fd, int how)
{
	PREP_(m, KCMD_SHUTDOWN);
	m->fd = fd, m->how = how;
}

static inline void
prep_poll(struct sys_poll *m, struct pollfd *fds, nfds_t nfds, int timeout)
{
	PREP_(m, KCMD_POLL);
	m->fds = fds, m->nfds = nfds, m->timeout = timeout;
}

static inline void
prep_nanosleep(struct sys_nanosleep *m, const struct timespec *req, struct timespec *rem)
{
	PREP_(m, KCMD_NANOSLEEP);
	m->req = req, m->rem = rem;
}

static inline void
prep_getpid(struct sys_getpid *m)
{
	PREP_(m, KCMD_GETPID);
}

static inline void
prep_kill(struct sys_kill *m, pid_t pid, int sig)
{
	PREP_(m, KCMD_KILL);
	m->pid = pid, m->sig = sig;
}

static inline void
prep_waitpid(struct sys_waitpid *m, pid_t pid, int *status, int options)
{
	PREP_(m, KCMD_WAITPID);
	m->pid = pid, m->status = status, m->options = options;
}

/* The generic indirect message: any system call by number, six arguments. */
static inline void
prep_syscall(struct sys_syscall *m, long nr, long a0, long a1, long a2, long a3, long a4,
    long a5)
{
	PREP_(m, KCMD_SYSCALL);
	m->nr = nr;
	m->args[0] = a0, m->args[1] = a1, m->args[2] = a2;
	m->args[3] = a3, m->args[4] = a4, m->args[5] = a5;
}

#undef PREP_
#undef PREP_AT_FDCWD_

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* MSGPORT_SYS_H */
