/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * systab.c - the system port's command table: for each command, its
 * message size, how it runs (may it block, does it wait on a pollable
 * descriptor, its handlers) and its arguments (see struct kcmd).  This
 * table is the one list of commands: sysport.c, the executors, slates and
 * the fuzzer only read it.
 *
 * To add a command: its number at the end of the enum and its message and
 * prep_ helper in msgport-sys.h, its handlers in the family's sys_*.c
 * (declared in systab-internal.h), its entry here.  mp_systab_check()
 * runs at every start and refuses, naming it, an entry that is missing
 * or incoherent.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "msgport-slate.h"
#include "systab-internal.h"

/* An argument slot: field f of struct t, of kind k (KA_*). */
#define ARG(t, f, k)	{ offsetof(struct t, f), sizeof(((struct t *)0)->f), (k) }
#define INT(t, f)	ARG(t, f, KA_INT)
#define FD(t, f)	ARG(t, f, KA_FD)
#define IN(t, f)	ARG(t, f, KA_IN)
#define OUT(t, f)	ARG(t, f, KA_OUT)

const struct kcmd mp_systab[KCMD_MAX] = {
	/*
	 * Files.  The positioned calls (pread, pwrite) and the file system's
	 * own work are KC_NOINTR: the kernel finishes them once they run.
	 * The stat family and getdents have no non-blocking form: they run
	 * inline while they have not been blocking (KC_GUESS, guess.c).
	 */
	[KCMD_OPENAT] = {
		.kc_name = "openat", .kc_size = sizeof(struct sys_openat),
		.kc_flags = KC_BLOCKS,
		.kc_run = mp_krun_openat, .kc_try = mp_ktry_openat,
		.kc_args = { FD(sys_openat, dirfd), IN(sys_openat, path), INT(sys_openat, flags),
			     INT(sys_openat, mode) },
	},
	[KCMD_CLOSE] = {
		.kc_name = "close", .kc_size = sizeof(struct sys_close),
		.kc_run = mp_krun_close,
		.kc_args = { FD(sys_close, fd) },
	},
	[KCMD_READ] = {
		.kc_name = "read", .kc_size = sizeof(struct sys_read),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_STREAM,
		.kc_run = mp_krun_read, .kc_try = mp_ktry_read, .kc_fd = mp_kfd_read,
		.kc_sqe = mp_ksqe_read,
		.kc_args = { FD(sys_read, fd), OUT(sys_read, buf), INT(sys_read, count) },
	},
	[KCMD_WRITE] = {
		.kc_name = "write", .kc_size = sizeof(struct sys_write),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_STREAM,
		.kc_run = mp_krun_write, .kc_try = mp_ktry_write, .kc_fd = mp_kfd_write,
		.kc_sqe = mp_ksqe_write,
		.kc_args = { FD(sys_write, fd), IN(sys_write, buf), INT(sys_write, count) },
	},
	[KCMD_PREAD] = {
		.kc_name = "pread", .kc_size = sizeof(struct sys_pread),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_pread, .kc_try = mp_ktry_pread, .kc_sqe = mp_ksqe_pread,
		.kc_args = { FD(sys_pread, fd), OUT(sys_pread, buf), INT(sys_pread, count),
			     INT(sys_pread, offset) },
	},
	[KCMD_PWRITE] = {
		.kc_name = "pwrite", .kc_size = sizeof(struct sys_pwrite),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_pwrite, .kc_try = mp_ktry_pwrite, .kc_sqe = mp_ksqe_pwrite,
		.kc_args = { FD(sys_pwrite, fd), IN(sys_pwrite, buf), INT(sys_pwrite, count),
			     INT(sys_pwrite, offset) },
	},
	[KCMD_READV] = {
		.kc_name = "readv", .kc_size = sizeof(struct sys_readv),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_STREAM,
		.kc_run = mp_krun_readv, .kc_try = mp_ktry_readv, .kc_fd = mp_kfd_readv,
		.kc_sqe = mp_ksqe_readv,
		.kc_args = { FD(sys_readv, fd), IN(sys_readv, iov), INT(sys_readv, iovcnt) },
	},
	[KCMD_WRITEV] = {
		.kc_name = "writev", .kc_size = sizeof(struct sys_writev),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_STREAM,
		.kc_run = mp_krun_writev, .kc_try = mp_ktry_writev, .kc_fd = mp_kfd_writev,
		.kc_sqe = mp_ksqe_writev,
		.kc_args = { FD(sys_writev, fd), IN(sys_writev, iov), INT(sys_writev, iovcnt) },
	},
	[KCMD_LSEEK] = {
		.kc_name = "lseek", .kc_size = sizeof(struct sys_lseek),
		.kc_run = mp_krun_lseek,
		.kc_args = { FD(sys_lseek, fd), INT(sys_lseek, offset), INT(sys_lseek, whence) },
	},
	[KCMD_FSTAT] = {
		.kc_name = "fstat", .kc_size = sizeof(struct sys_fstat),
		.kc_run = mp_krun_fstat,
		.kc_args = { FD(sys_fstat, fd), OUT(sys_fstat, st) },
	},
	[KCMD_FSTATAT] = {
		.kc_name = "fstatat", .kc_size = sizeof(struct sys_fstatat),
		.kc_flags = KC_BLOCKS | KC_GUESS | KC_NOINTR,
		.kc_run = mp_krun_fstatat,
		.kc_args = { FD(sys_fstatat, dirfd), IN(sys_fstatat, path), OUT(sys_fstatat, st),
			     INT(sys_fstatat, flags) },
	},
	[KCMD_FSTATATV] = {
		.kc_name = "fstatatv", .kc_size = sizeof(struct sys_fstatatv),
		.kc_flags = KC_BLOCKS | KC_GUESS | KC_NOINTR,
		.kc_run = mp_krun_fstatatv,
		.kc_args = { FD(sys_fstatatv, dirfd), IN(sys_fstatatv, names), OUT(sys_fstatatv, st),
			     OUT(sys_fstatatv, errs), INT(sys_fstatatv, n), INT(sys_fstatatv, flags) },
	},
	[KCMD_STATX] = {
		.kc_name = "statx", .kc_size = sizeof(struct sys_statx),
		.kc_flags = KC_BLOCKS | KC_GUESS | KC_NOINTR,
		.kc_run = mp_krun_statx,
		.kc_args = { FD(sys_statx, dirfd), IN(sys_statx, path), INT(sys_statx, flags),
			     INT(sys_statx, mask), OUT(sys_statx, stx) },
	},
	[KCMD_FSYNC] = {
		.kc_name = "fsync", .kc_size = sizeof(struct sys_fsync),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_fsync,
		.kc_args = { FD(sys_fsync, fd) },
	},
	[KCMD_FDATASYNC] = {
		.kc_name = "fdatasync", .kc_size = sizeof(struct sys_fsync),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_fdatasync,
		.kc_args = { FD(sys_fsync, fd) },
	},
	[KCMD_FTRUNCATE] = {
		.kc_name = "ftruncate", .kc_size = sizeof(struct sys_ftruncate),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_ftruncate,
		.kc_args = { FD(sys_ftruncate, fd), INT(sys_ftruncate, length) },
	},
	[KCMD_GETDENTS64] = {
		.kc_name = "getdents64", .kc_size = sizeof(struct sys_getdents64),
		.kc_flags = KC_BLOCKS | KC_GUESS | KC_NOINTR,
		.kc_run = mp_krun_getdents64,
		.kc_args = { FD(sys_getdents64, fd), OUT(sys_getdents64, buf),
			     INT(sys_getdents64, count) },
	},
	[KCMD_MKDIRAT] = {
		.kc_name = "mkdirat", .kc_size = sizeof(struct sys_mkdirat),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_mkdirat,
		.kc_args = { FD(sys_mkdirat, dirfd), IN(sys_mkdirat, path), INT(sys_mkdirat, mode) },
	},
	[KCMD_UNLINKAT] = {
		.kc_name = "unlinkat", .kc_size = sizeof(struct sys_unlinkat),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_unlinkat,
		.kc_args = { FD(sys_unlinkat, dirfd), IN(sys_unlinkat, path),
			     INT(sys_unlinkat, flags) },
	},
	[KCMD_RENAMEAT] = {
		.kc_name = "renameat", .kc_size = sizeof(struct sys_renameat),
		.kc_flags = KC_BLOCKS | KC_NOINTR,
		.kc_run = mp_krun_renameat,
		.kc_args = { FD(sys_renameat, olddirfd), IN(sys_renameat, oldpath),
			     FD(sys_renameat, newdirfd), IN(sys_renameat, newpath) },
	},
	/* A non-blocking out_fd waits in the event loop; a blocking one, the pool. */
	[KCMD_SENDFILE] = {
		.kc_name = "sendfile", .kc_size = sizeof(struct sys_sendfile),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_STREAM,
		.kc_run = mp_krun_sendfile, .kc_try = mp_ktry_sendfile, .kc_fd = mp_kfd_sendfile,
		.kc_args = { FD(sys_sendfile, out_fd), FD(sys_sendfile, in_fd),
			     IN(sys_sendfile, offset), INT(sys_sendfile, count) },
	},

	/* Sockets: would-block waits in the event loop. */
	[KCMD_SOCKET] = {
		.kc_name = "socket", .kc_size = sizeof(struct sys_socket),
		.kc_run = mp_krun_socket,
		.kc_args = { INT(sys_socket, domain), INT(sys_socket, type),
			     INT(sys_socket, protocol) },
	},
	[KCMD_BIND] = {
		.kc_name = "bind", .kc_size = sizeof(struct sys_bind),
		.kc_run = mp_krun_bind,
		.kc_args = { FD(sys_bind, fd), IN(sys_bind, addr), INT(sys_bind, addrlen) },
	},
	[KCMD_LISTEN] = {
		.kc_name = "listen", .kc_size = sizeof(struct sys_listen),
		.kc_run = mp_krun_listen,
		.kc_args = { FD(sys_listen, fd), INT(sys_listen, backlog) },
	},
	[KCMD_ACCEPT4] = {
		.kc_name = "accept4", .kc_size = sizeof(struct sys_accept4),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_SOCKET,
		.kc_run = mp_krun_accept4, .kc_try = mp_ktry_accept4, .kc_fd = mp_kfd_accept4,
		.kc_args = { FD(sys_accept4, fd), OUT(sys_accept4, addr), IN(sys_accept4, addrlen),
			     INT(sys_accept4, flags) },
	},
	/* A blocking socket's connect goes on in the kernel if cut short: kc_intr. */
	[KCMD_CONNECT] = {
		.kc_name = "connect", .kc_size = sizeof(struct sys_connect),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_SOCKET,
		.kc_run = mp_krun_connect, .kc_try = mp_ktry_connect, .kc_intr = mp_kintr_connect,
		.kc_fd = mp_kfd_connect,
		.kc_args = { FD(sys_connect, fd), IN(sys_connect, addr), INT(sys_connect, addrlen) },
	},
	[KCMD_SENDTO] = {
		.kc_name = "sendto", .kc_size = sizeof(struct sys_sendto),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_SOCKET | KC_STREAM,
		.kc_run = mp_krun_sendto, .kc_try = mp_ktry_sendto, .kc_fd = mp_kfd_sendto,
		.kc_sqe = mp_ksqe_sendto,
		.kc_args = { FD(sys_sendto, fd), IN(sys_sendto, buf), INT(sys_sendto, len),
			     INT(sys_sendto, flags), IN(sys_sendto, addr), INT(sys_sendto, addrlen) },
	},
	[KCMD_RECVFROM] = {
		.kc_name = "recvfrom", .kc_size = sizeof(struct sys_recvfrom),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_SOCKET | KC_STREAM,
		.kc_run = mp_krun_recvfrom, .kc_try = mp_ktry_recvfrom, .kc_fd = mp_kfd_recvfrom,
		.kc_sqe = mp_ksqe_recvfrom,
		.kc_args = { FD(sys_recvfrom, fd), OUT(sys_recvfrom, buf), INT(sys_recvfrom, len),
			     INT(sys_recvfrom, flags), OUT(sys_recvfrom, addr),
			     IN(sys_recvfrom, addrlen) },
	},
	[KCMD_SENDMSG] = {
		.kc_name = "sendmsg", .kc_size = sizeof(struct sys_sendmsg),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_SOCKET | KC_STREAM,
		.kc_run = mp_krun_sendmsg, .kc_try = mp_ktry_sendmsg, .kc_fd = mp_kfd_sendmsg,
		.kc_sqe = mp_ksqe_sendmsg,
		.kc_args = { FD(sys_sendmsg, fd), IN(sys_sendmsg, mh), INT(sys_sendmsg, flags) },
	},
	[KCMD_RECVMSG] = {
		.kc_name = "recvmsg", .kc_size = sizeof(struct sys_recvmsg),
		.kc_flags = KC_BLOCKS | KC_POLLABLE | KC_SOCKET | KC_STREAM,
		.kc_run = mp_krun_recvmsg, .kc_try = mp_ktry_recvmsg, .kc_fd = mp_kfd_recvmsg,
		.kc_sqe = mp_ksqe_recvmsg,
		.kc_args = { FD(sys_recvmsg, fd), IN(sys_recvmsg, mh), INT(sys_recvmsg, flags) },
	},
	[KCMD_SHUTDOWN] = {
		.kc_name = "shutdown", .kc_size = sizeof(struct sys_shutdown),
		.kc_run = mp_krun_shutdown,
		.kc_args = { FD(sys_shutdown, fd), INT(sys_shutdown, how) },
	},

	/* Waiting, processes. */
	[KCMD_POLL] = {
		.kc_name = "poll", .kc_size = sizeof(struct sys_poll),
		.kc_flags = KC_BLOCKS | KC_ZERONOTYET,
		.kc_run = mp_krun_poll, .kc_try = mp_ktry_poll, .kc_intr = mp_kintr_poll,
		.kc_args = { IN(sys_poll, fds), INT(sys_poll, nfds), INT(sys_poll, timeout) },
	},
	/* Waits for time only: asynchronous, a timer of the event loop (kc_sleep). */
	[KCMD_NANOSLEEP] = {
		.kc_name = "nanosleep", .kc_size = sizeof(struct sys_nanosleep),
		.kc_flags = KC_BLOCKS,
		.kc_run = mp_krun_nanosleep, .kc_sleep = mp_ksleep_nanosleep,
		.kc_args = { IN(sys_nanosleep, req), OUT(sys_nanosleep, rem) },
	},
	[KCMD_GETPID] = {
		.kc_name = "getpid", .kc_size = sizeof(struct sys_getpid),
		.kc_run = mp_krun_getpid,
	},
	[KCMD_KILL] = {
		.kc_name = "kill", .kc_size = sizeof(struct sys_kill),
		.kc_run = mp_krun_kill,
		.kc_args = { INT(sys_kill, pid), INT(sys_kill, sig) },
	},
	[KCMD_WAITPID] = {
		.kc_name = "waitpid", .kc_size = sizeof(struct sys_waitpid),
		.kc_flags = KC_BLOCKS | KC_ZERONOTYET,
		.kc_run = mp_krun_waitpid, .kc_try = mp_ktry_waitpid, .kc_intr = mp_kintr_waitpid,
		.kc_args = { INT(sys_waitpid, pid), OUT(sys_waitpid, status),
			     INT(sys_waitpid, options) },
	},

	/* Anything else: the pool; a register may feed any argument. */
	[KCMD_SYSCALL] = {
		.kc_name = "syscall", .kc_size = sizeof(struct sys_syscall),
		.kc_flags = KC_BLOCKS,
		.kc_run = mp_krun_syscall,
		.kc_args = { INT(sys_syscall, args[0]), INT(sys_syscall, args[1]),
			     INT(sys_syscall, args[2]), INT(sys_syscall, args[3]),
			     INT(sys_syscall, args[4]), INT(sys_syscall, args[5]) },
	},

	/* Persistent: armed here, returned by their own thread. */
	[KCMD_SIGNAL] = {
		.kc_name = "signal", .kc_size = sizeof(struct sys_signal),
		.kc_flags = KC_PERSIST,
		.kc_run = mp_krun_signal,
	},
	[KCMD_TIMER] = {
		.kc_name = "timer", .kc_size = sizeof(struct sys_timer),
		.kc_flags = KC_PERSIST,
		.kc_run = mp_krun_timer,
	},

	/* A batch: its try checks it, the pool runs it (slate.c). */
	[KCMD_SLATE] = {
		.kc_name = "slate", .kc_size = sizeof(struct sys_slate),
		.kc_flags = KC_BLOCKS | KC_NOSLATE,
		.kc_run = mp_krun_slate, .kc_try = mp_ktry_slate,
	},
};

#undef ARG
#undef INT
#undef FD
#undef IN
#undef OUT

/* Why entry kc is malformed, or NULL. */
const char *
mp_systab_fault(const struct kcmd *kc)
{
	const struct karg *ka;
	bool ended = false;
	int k;

	if (kc->kc_name == NULL || kc->kc_run == NULL)
		return "no name or no kc_run";
	if (kc->kc_size < sizeof(msg_t))
		return "kc_size below a header's";
	if ((kc->kc_flags & KC_POLLABLE) && (kc->kc_try == NULL || kc->kc_fd == NULL))
		return "KC_POLLABLE without kc_try and kc_fd";
	if ((kc->kc_flags & KC_STREAM) && !(kc->kc_flags & KC_POLLABLE))
		return "KC_STREAM without KC_POLLABLE";
	if (kc->kc_sqe != NULL && kc->kc_try == NULL)
		return "kc_sqe without kc_try";
	if ((kc->kc_flags & KC_NOINTR) && kc->kc_intr != NULL)
		return "KC_NOINTR with kc_intr";
	if (!(kc->kc_flags & KC_BLOCKS) && (kc->kc_try || kc->kc_intr || kc->kc_fd || kc->kc_sqe ||
	    kc->kc_sleep))
		return "an executor's handler, but not KC_BLOCKS";
	for (k = 0; k < KARGS; k++) {
		ka = &kc->kc_args[k];
		if (ka->ka_size == 0) {
			if (ka->ka_kind != 0 || ka->ka_off != 0)
				return "an argument slot without a size";
			ended = true;
			continue;
		}
		if (ended)
			return "a hole in kc_args";
		if (ka->ka_off < sizeof(msg_t) || ka->ka_off + ka->ka_size > kc->kc_size)
			return "an argument outside the message";
		if ((ka->ka_kind == KA_INT || ka->ka_kind == KA_FD) ?
		    ka->ka_size != 4 && ka->ka_size != 8 :
		    (ka->ka_kind != KA_IN && ka->ka_kind != KA_OUT) || ka->ka_size != sizeof(void *))
			return "an argument of the wrong kind or size";
	}
	return NULL;
}

/*
 * mp_systab_check
 *	Every command has an entry; an entry's flags agree with its handlers
 *	and its arguments lie in its message.  Returns 0, or
 *	ENOTRECOVERABLE naming the bad entry on stderr.
 */
int
mp_systab_check(void)
{
	const char *why;
	uint32_t cmd;

	for (cmd = 1; cmd < KCMD_MAX; cmd++) {
		if ((why = mp_systab_fault(&mp_systab[cmd])) != NULL) {
			fprintf(stderr, "msgport: system command %u (%s) is malformed: %s\n", cmd,
			    mp_systab[cmd].kc_name ? mp_systab[cmd].kc_name : "empty", why);
			return ENOTRECOVERABLE;
		}
	}
	return 0;
}
