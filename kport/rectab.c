/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rectab.c - the recorder's command table (x86-64 system call numbers):
 * per call its class, which arguments are descriptors, whether the
 * result is a new descriptor, and its buffers, so that record.c has no
 * per-call code.  A number not listed is SLATE_REC_OTHER, no
 * descriptors, its pointers live even with SLATE_RECORD_COPY.
 */
#include "config.h"

#include <sys/syscall.h>

#include "msgport-slate.h"
#include "record-internal.h"

#if defined(__x86_64__)

#define D0	0x01u
#define D1	0x02u
#define D2	0x04u
#define D4	0x10u

#define BUF(k, s, l, z)	{ (k), (s), (l), 0, (z) }
#define STR(s)		BUF(RB_STR, s, RB_NOLEN, 0)
#define IN(s, l)	BUF(RB_IN, s, l, 1)
#define INZ(s, z)	BUF(RB_IN, s, RB_NOLEN, z)
#define OUT(s, l)	BUF(RB_OUT, s, l, 1)
#define OUTZ(s, z)	BUF(RB_OUT, s, RB_NOLEN, z)
#define OUTN(s, l, z)	BUF(RB_OUT, s, l, z)
#define INOUTZ(s, z)	BUF(RB_INOUT, s, RB_NOLEN, z)
#define INOUTN(s, l, z)	BUF(RB_INOUT, s, l, z)
#define INLENP(s, l)	BUF(RB_INLENP, s, l, 1)
#define OUTLENP(s, l)	BUF(RB_OUTLENP, s, l, 1)
#define IOVIN(s, l)	BUF(RB_IOVIN, s, l, 0)
#define IOVOUT(s, l)	BUF(RB_IOVOUT, s, l, 0)
#define IOCTL(s)	BUF(RB_IOCTL, s, RB_NOLEN, 0)

#define CALL(nr, cls, fds, fl, sp, ...) \
	[nr] = { (cls), (fds), (fl), (sp), { 0 }, { __VA_ARGS__ } }

/* The usual shapes. */
#define F_		SLATE_REC_FILE
#define S_		SLATE_REC_SOCKET
#define P_		SLATE_REC_PROCESS
#define T_		SLATE_REC_TIME
#define M_		SLATE_REC_MEMORY
#define Y_		SLATE_REC_SYNC
#define G_		SLATE_REC_SIGNAL
#define FOL		RC_FOLLOW

enum { ST = 144, STX = 256, TS = 16, TV = 16, ITS = 32, SIGSET = 8, EPEV = 12 };

const struct mp_rec_call mp_rectab[MP_REC_NSYS] = {
	/* files and descriptors */
	CALL(SYS_read, F_, D0, FOL, 0, OUT(1, 2)),
	CALL(SYS_write, F_, D0, FOL, 0, IN(1, 2)),
	CALL(SYS_open, F_, 0, RC_NEWFD, 0, STR(0)),
	CALL(SYS_creat, F_, 0, RC_NEWFD, 0, STR(0)),
	CALL(SYS_openat, F_, D0, RC_NEWFD, 0, STR(1)),
	CALL(SYS_openat2, F_, D0, RC_NEWFD, 0, STR(1), IN(2, 3)),
	CALL(SYS_close, F_, D0, RC_CLOSE | FOL, 0),
	CALL(SYS_stat, F_, 0, 0, 0, STR(0), OUTZ(1, ST)),
	CALL(SYS_lstat, F_, 0, 0, 0, STR(0), OUTZ(1, ST)),
	CALL(SYS_fstat, F_, D0, FOL, 0, OUTZ(1, ST)),
	CALL(SYS_newfstatat, F_, D0, FOL, 0, STR(1), OUTZ(2, ST)),
	CALL(SYS_statx, F_, D0, FOL, 0, STR(1), OUTZ(4, STX)),
	CALL(SYS_statfs, F_, 0, 0, 0, STR(0), OUTZ(1, 120)),
	CALL(SYS_fstatfs, F_, D0, FOL, 0, OUTZ(1, 120)),
	CALL(SYS_lseek, F_, D0, FOL, 0),
	CALL(SYS_pread64, F_, D0, FOL, 0, OUT(1, 2)),
	CALL(SYS_pwrite64, F_, D0, FOL, 0, IN(1, 2)),
	CALL(SYS_readv, F_, D0, FOL, 0, IOVOUT(1, 2)),
	CALL(SYS_writev, F_, D0, FOL, 0, IOVIN(1, 2)),
	CALL(SYS_preadv, F_, D0, FOL, 0, IOVOUT(1, 2)),
	CALL(SYS_pwritev, F_, D0, FOL, 0, IOVIN(1, 2)),
	CALL(SYS_preadv2, F_, D0, FOL, 0, IOVOUT(1, 2)),
	CALL(SYS_pwritev2, F_, D0, FOL, 0, IOVIN(1, 2)),
	CALL(SYS_access, F_, 0, 0, 0, STR(0)),
	CALL(SYS_faccessat, F_, D0, 0, 0, STR(1)),
	CALL(SYS_faccessat2, F_, D0, 0, 0, STR(1)),
	CALL(SYS_pipe, F_, 0, 0, 0, OUTZ(0, 8)),
	CALL(SYS_pipe2, F_, 0, 0, 0, OUTZ(0, 8)),
	CALL(SYS_dup, F_, D0, RC_NEWFD | FOL, 0),
	CALL(SYS_dup2, F_, D0 | D1, RC_NEWFD | FOL, 0),
	CALL(SYS_dup3, F_, D0 | D1, RC_NEWFD | FOL, 0),
	CALL(SYS_fcntl, F_, D0, FOL, RS_FCNTL),
	CALL(SYS_flock, F_, D0, FOL, 0),
	CALL(SYS_fsync, F_, D0, FOL, 0),
	CALL(SYS_fdatasync, F_, D0, FOL, 0),
	CALL(SYS_syncfs, F_, D0, FOL, 0),
	CALL(SYS_sync_file_range, F_, D0, FOL, 0),
	CALL(SYS_fadvise64, F_, D0, FOL, 0),
	CALL(SYS_fallocate, F_, D0, FOL, 0),
	CALL(SYS_truncate, F_, 0, 0, 0, STR(0)),
	CALL(SYS_ftruncate, F_, D0, FOL, 0),
	CALL(SYS_getdents, F_, D0, FOL, 0, OUT(1, 2)),
	CALL(SYS_getdents64, F_, D0, FOL, 0, OUT(1, 2)),
	CALL(SYS_getcwd, F_, 0, 0, 0, OUT(0, 1)),
	CALL(SYS_chdir, F_, 0, 0, 0, STR(0)),
	CALL(SYS_fchdir, F_, D0, FOL, 0),
	CALL(SYS_rename, F_, 0, 0, 0, STR(0), STR(1)),
	CALL(SYS_renameat, F_, D0 | D2, 0, 0, STR(1), STR(3)),
	CALL(SYS_renameat2, F_, D0 | D2, 0, 0, STR(1), STR(3)),
	CALL(SYS_mkdir, F_, 0, 0, 0, STR(0)),
	CALL(SYS_mkdirat, F_, D0, 0, 0, STR(1)),
	CALL(SYS_mknodat, F_, D0, 0, 0, STR(1)),
	CALL(SYS_rmdir, F_, 0, 0, 0, STR(0)),
	CALL(SYS_unlink, F_, 0, 0, 0, STR(0)),
	CALL(SYS_unlinkat, F_, D0, 0, 0, STR(1)),
	CALL(SYS_link, F_, 0, 0, 0, STR(0), STR(1)),
	CALL(SYS_linkat, F_, D0 | D2, 0, 0, STR(1), STR(3)),
	CALL(SYS_symlink, F_, 0, 0, 0, STR(0), STR(1)),
	CALL(SYS_symlinkat, F_, D1, 0, 0, STR(0), STR(2)),
	CALL(SYS_readlink, F_, 0, 0, 0, STR(0), OUT(1, 2)),
	CALL(SYS_readlinkat, F_, D0, 0, 0, STR(1), OUT(2, 3)),
	CALL(SYS_chmod, F_, 0, 0, 0, STR(0)),
	CALL(SYS_fchmod, F_, D0, FOL, 0),
	CALL(SYS_fchmodat, F_, D0, 0, 0, STR(1)),
	CALL(SYS_chown, F_, 0, 0, 0, STR(0)),
	CALL(SYS_lchown, F_, 0, 0, 0, STR(0)),
	CALL(SYS_fchown, F_, D0, FOL, 0),
	CALL(SYS_fchownat, F_, D0, 0, 0, STR(1)),
	CALL(SYS_utimensat, F_, D0, 0, 0, STR(1), INZ(2, 2 * TS)),
	CALL(SYS_umask, F_, 0, 0, 0),
	CALL(SYS_sendfile, F_, D0 | D1, FOL, 0, INOUTZ(2, 8)),
	CALL(SYS_splice, F_, D0 | D2, FOL, 0),
	CALL(SYS_tee, F_, D0 | D1, FOL, 0),
	CALL(SYS_copy_file_range, F_, D0 | D2, FOL, 0),
	CALL(SYS_memfd_create, F_, 0, RC_NEWFD, 0, STR(0)),
	CALL(SYS_poll, F_, 0, 0, 0, INOUTN(0, 1, 8)),
	CALL(SYS_ppoll, F_, 0, 0, 0, INOUTN(0, 1, 8), INZ(2, TS), INZ(3, SIGSET)),
	CALL(SYS_select, F_, 0, 0, 0),
	CALL(SYS_pselect6, F_, 0, 0, 0),
	CALL(SYS_epoll_create, F_, 0, RC_NEWFD, 0),
	CALL(SYS_epoll_create1, F_, 0, RC_NEWFD, 0),
	CALL(SYS_epoll_ctl, F_, D0 | D2, FOL, 0, INZ(3, EPEV)),
	CALL(SYS_epoll_wait, F_, D0, FOL, 0, OUTN(1, 2, EPEV)),
	CALL(SYS_epoll_pwait, F_, D0, FOL, 0, OUTN(1, 2, EPEV), INZ(4, SIGSET)),
	CALL(SYS_eventfd, F_, 0, RC_NEWFD, 0),
	CALL(SYS_eventfd2, F_, 0, RC_NEWFD, 0),
	CALL(SYS_signalfd, F_, D0, RC_NEWFD, 0, INZ(1, SIGSET)),
	CALL(SYS_signalfd4, F_, D0, RC_NEWFD, 0, INZ(1, SIGSET)),
	CALL(SYS_timerfd_create, F_, 0, RC_NEWFD, 0),
	CALL(SYS_timerfd_settime, F_, D0, FOL, 0, INZ(2, ITS), OUTZ(3, ITS)),
	CALL(SYS_timerfd_gettime, F_, D0, FOL, 0, OUTZ(1, ITS)),
	CALL(SYS_inotify_init, F_, 0, RC_NEWFD, 0),
	CALL(SYS_inotify_init1, F_, 0, RC_NEWFD, 0),
	CALL(SYS_inotify_add_watch, F_, D0, FOL, 0, STR(1)),
	CALL(SYS_inotify_rm_watch, F_, D0, FOL, 0),
	CALL(SYS_io_uring_setup, F_, 0, RC_NEWFD, 0),
	CALL(SYS_io_uring_enter, F_, D0, FOL, 0),
	CALL(SYS_io_uring_register, F_, D0, FOL, 0),
	CALL(SYS_close_range, F_, 0, 0, 0),
	CALL(SYS_getxattr, F_, 0, 0, 0, STR(0), STR(1), OUT(2, 3)),
	CALL(SYS_lgetxattr, F_, 0, 0, 0, STR(0), STR(1), OUT(2, 3)),
	CALL(SYS_fgetxattr, F_, D0, FOL, 0, STR(1), OUT(2, 3)),
	CALL(SYS_listxattr, F_, 0, 0, 0, STR(0), OUT(1, 2)),
	CALL(SYS_llistxattr, F_, 0, 0, 0, STR(0), OUT(1, 2)),
	CALL(SYS_flistxattr, F_, D0, FOL, 0, OUT(1, 2)),

	/* sockets */
	CALL(SYS_socket, S_, 0, RC_NEWFD, 0),
	CALL(SYS_socketpair, S_, 0, 0, 0, OUTZ(3, 8)),
	CALL(SYS_connect, S_, D0, FOL, 0, IN(1, 2)),
	CALL(SYS_bind, S_, D0, FOL, 0, IN(1, 2)),
	CALL(SYS_listen, S_, D0, FOL, 0),
	CALL(SYS_accept, S_, D0, RC_NEWFD | FOL, 0, OUTLENP(1, 2), INOUTZ(2, 4)),
	CALL(SYS_accept4, S_, D0, RC_NEWFD | FOL, 0, OUTLENP(1, 2), INOUTZ(2, 4)),
	CALL(SYS_sendto, S_, D0, FOL, 0, IN(1, 2), IN(4, 5)),
	CALL(SYS_recvfrom, S_, D0, FOL, 0, OUT(1, 2), OUTLENP(4, 5), INOUTZ(5, 4)),
	CALL(SYS_sendmsg, S_, D0, FOL, 0),
	CALL(SYS_recvmsg, S_, D0, FOL, 0),
	CALL(SYS_sendmmsg, S_, D0, FOL, 0),
	CALL(SYS_recvmmsg, S_, D0, FOL, 0),
	CALL(SYS_shutdown, S_, D0, FOL, 0),
	CALL(SYS_getsockname, S_, D0, FOL, 0, OUTLENP(1, 2), INOUTZ(2, 4)),
	CALL(SYS_getpeername, S_, D0, FOL, 0, OUTLENP(1, 2), INOUTZ(2, 4)),
	CALL(SYS_setsockopt, S_, D0, FOL, 0, IN(3, 4)),
	CALL(SYS_getsockopt, S_, D0, FOL, 0, OUTLENP(3, 4), INOUTZ(4, 4)),

	/* devices */
	CALL(SYS_ioctl, SLATE_REC_DEVICE, D0, FOL, 0, IOCTL(2)),

	/* processes */
	CALL(SYS_getpid, P_, 0, 0, 0),
	CALL(SYS_getppid, P_, 0, 0, 0),
	CALL(SYS_gettid, P_, 0, 0, 0),
	CALL(SYS_getuid, P_, 0, 0, 0),
	CALL(SYS_geteuid, P_, 0, 0, 0),
	CALL(SYS_getgid, P_, 0, 0, 0),
	CALL(SYS_getegid, P_, 0, 0, 0),
	CALL(SYS_getpgid, P_, 0, 0, 0),
	CALL(SYS_getpgrp, P_, 0, 0, 0),
	CALL(SYS_getsid, P_, 0, 0, 0),
	CALL(SYS_setsid, P_, 0, 0, 0),
	CALL(SYS_setpgid, P_, 0, 0, 0),
	CALL(SYS_getgroups, P_, 0, 0, 0, OUTN(1, 0, 4)),
	CALL(SYS_kill, P_, 0, 0, 0),
	CALL(SYS_tkill, P_, 0, 0, 0),
	CALL(SYS_tgkill, P_, 0, 0, 0),
	CALL(SYS_wait4, P_, 0, 0, 0, OUTZ(1, 4), OUTZ(3, 144)),
	CALL(SYS_waitid, P_, 0, 0, 0, OUTZ(2, 128), OUTZ(4, 144)),
	CALL(SYS_uname, P_, 0, 0, 0, OUTZ(0, 390)),
	CALL(SYS_sysinfo, P_, 0, 0, 0, OUTZ(0, 112)),
	CALL(SYS_getrusage, P_, 0, 0, 0, OUTZ(1, 144)),
	CALL(SYS_getrlimit, P_, 0, 0, 0, OUTZ(1, 16)),
	CALL(SYS_setrlimit, P_, 0, 0, 0, INZ(1, 16)),
	CALL(SYS_prlimit64, P_, 0, 0, 0, INZ(2, 16), OUTZ(3, 16)),
	CALL(SYS_getpriority, P_, 0, 0, 0),
	CALL(SYS_setpriority, P_, 0, 0, 0),
	CALL(SYS_sched_yield, P_, 0, 0, 0),
	CALL(SYS_sched_getaffinity, P_, 0, 0, 0, OUT(2, 1)),
	CALL(SYS_sched_setaffinity, P_, 0, 0, 0, IN(2, 1)),
	CALL(SYS_pidfd_open, P_, 0, RC_NEWFD, 0),
	CALL(SYS_pidfd_send_signal, P_, D0, FOL, 0),
	CALL(SYS_pidfd_getfd, P_, D0, RC_NEWFD | FOL, 0),
	CALL(SYS_set_tid_address, P_, 0, 0, 0),
	CALL(SYS_getrandom, P_, 0, 0, 0, OUT(0, 1)),

	/* time */
	CALL(SYS_nanosleep, T_, 0, 0, 0, INZ(0, TS), OUTZ(1, TS)),
	CALL(SYS_clock_nanosleep, T_, 0, 0, 0, INZ(2, TS), OUTZ(3, TS)),
	CALL(SYS_clock_gettime, T_, 0, 0, 0, OUTZ(1, TS)),
	CALL(SYS_clock_getres, T_, 0, 0, 0, OUTZ(1, TS)),
	CALL(SYS_gettimeofday, T_, 0, 0, 0, OUTZ(0, TV)),
	CALL(SYS_time, T_, 0, 0, 0, OUTZ(0, 8)),
	CALL(SYS_times, T_, 0, 0, 0, OUTZ(0, 32)),
	CALL(SYS_alarm, T_, 0, 0, 0),
	CALL(SYS_getitimer, T_, 0, 0, 0, OUTZ(1, 2 * TV)),
	CALL(SYS_setitimer, T_, 0, 0, 0, INZ(1, 2 * TV), OUTZ(2, 2 * TV)),
	CALL(SYS_timer_create, T_, 0, 0, 0),
	CALL(SYS_timer_settime, T_, 0, 0, 0, INZ(2, ITS), OUTZ(3, ITS)),
	CALL(SYS_timer_gettime, T_, 0, 0, 0, OUTZ(1, ITS)),
	CALL(SYS_timer_getoverrun, T_, 0, 0, 0),
	CALL(SYS_timer_delete, T_, 0, 0, 0),

	/* memory: a descriptor argument is fed if recorded, never followed */
	CALL(SYS_mmap, M_, D4, 0, 0),
	CALL(SYS_munmap, M_, 0, 0, 0),
	CALL(SYS_mprotect, M_, 0, 0, 0),
	CALL(SYS_mremap, M_, 0, 0, 0),
	CALL(SYS_msync, M_, 0, 0, 0),
	CALL(SYS_mincore, M_, 0, 0, 0),
	CALL(SYS_madvise, M_, 0, 0, 0),
	CALL(SYS_brk, M_, 0, 0, 0),
	CALL(SYS_mlock, M_, 0, 0, 0),
	CALL(SYS_munlock, M_, 0, 0, 0),
	CALL(SYS_mlockall, M_, 0, 0, 0),
	CALL(SYS_munlockall, M_, 0, 0, 0),
	CALL(SYS_mlock2, M_, 0, 0, 0),
	CALL(SYS_membarrier, M_, 0, 0, 0),
	CALL(SYS_pkey_mprotect, M_, 0, 0, 0),
	CALL(SYS_pkey_alloc, M_, 0, 0, 0),
	CALL(SYS_pkey_free, M_, 0, 0, 0),

	/* synchronisation */
	CALL(SYS_futex, Y_, 0, 0, 0),
	CALL(SYS_set_robust_list, Y_, 0, 0, 0),
	CALL(SYS_get_robust_list, Y_, 0, 0, 0),
	CALL(SYS_rseq, Y_, 0, 0, 0),
	CALL(449 /* futex_waitv */, Y_, 0, 0, 0),

	/* signals */
	CALL(SYS_rt_sigaction, G_, 0, 0, RS_SIGACTION),
	CALL(SYS_rt_sigprocmask, G_, 0, 0, RS_SIGMASK),
	CALL(SYS_rt_sigsuspend, G_, 0, 0, RS_SIGSUSPEND),
	CALL(SYS_rt_sigpending, G_, 0, 0, 0, OUTZ(0, SIGSET)),
	CALL(SYS_rt_sigtimedwait, G_, 0, 0, 0),
	CALL(SYS_rt_sigqueueinfo, G_, 0, 0, 0),
	CALL(SYS_rt_tgsigqueueinfo, G_, 0, 0, 0),
	CALL(SYS_sigaltstack, G_, 0, 0, 0),
	CALL(SYS_pause, G_, 0, 0, 0),

	/* run, never recorded: a replay cannot stand in for them */
	CALL(SYS_rt_sigreturn, G_, 0, RC_NEVER, RS_SIGRETURN),
	CALL(SYS_clone, P_, 0, RC_NEVER, RS_CLONE),
	CALL(SYS_clone3, P_, 0, RC_NEVER, RS_CLONE),
	CALL(SYS_fork, P_, 0, RC_NEVER, RS_CLONE),
	CALL(SYS_vfork, P_, 0, RC_NEVER, RS_CLONE),
	CALL(SYS_execve, P_, 0, RC_NEVER, RS_EXEC),
	CALL(SYS_execveat, P_, 0, RC_NEVER, RS_EXEC),
	CALL(SYS_exit, P_, 0, RC_NEVER, RS_EXIT),
	CALL(SYS_exit_group, P_, 0, RC_NEVER, RS_EXIT),
	CALL(SYS_prctl, SLATE_REC_OTHER, 0, 0, RS_PRCTL),
};

#else

const struct mp_rec_call mp_rectab[MP_REC_NSYS];

#endif
