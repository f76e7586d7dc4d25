/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sys_file.c - the file calls: what each does blocking (run) and, where
 * Linux has a form that never waits for the disk or the pipe, without
 * blocking (try).
 *
 * The tries: RWF_NOWAIT reads and writes (preadv2/pwritev2; offset -1 is
 * the file position, which is how read(2) on a pipe or socket goes too),
 * and openat2(RESOLVE_CACHED) for opens whose path is in the dentry cache.
 * The reads and writes also have a ring form (kring_*): the same try as
 * an io_uring request, for a plugged thread (plug.c).  Every user pointer
 * goes to the kernel unread, but fstatatv's arrays: copied (ucopy.c).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "evloop-internal.h"
#include "kport-internal.h"
#include "ksys-internal.h"
#include "ucopy-internal.h"

#define ARGS(type) struct type *a = (struct type *)msg

/* msgport-sys.h spells these as numbers: it must build without _GNU_SOURCE. */
_Static_assert(AT_FDCWD == -100 && AT_SYMLINK_NOFOLLOW == 0x100, "msgport-sys.h's AT_ constants");

/* A non-blocking read or write as a ring request: off -1 is the file
   position (or none, on a pipe or socket), as with preadv2(). */
static int
ksqe_rw(struct io_uring_sqe *sqe, uint8_t op, int fd, const void *addr, size_t len, off_t off)
{
	int e = ksqe_prep(sqe, op, fd, addr, len);

	sqe->off = (uint64_t)off;
	sqe->rw_flags = RWF_NOWAIT;
	return e;
}

int
mp_krun_openat(msg_t *msg)
{
	ARGS(sys_openat);
	return kret(msg, openat(a->dirfd, a->path, a->flags, a->mode));
}

int
mp_ktry_openat(msg_t *msg)
{
	ARGS(sys_openat);
	struct open_how how = {
		.flags = (uint64_t)(unsigned)a->flags,
		.mode = (a->flags & (O_CREAT | __O_TMPFILE)) ? a->mode & 07777 : 0,
		.resolve = RESOLVE_CACHED,
	};
	int e = kret(msg, syscall(SYS_openat2, a->dirfd, a->path, &how, sizeof(how)));

	/* openat2 is stricter than openat about flags: let the pool decide */
	return e == EINVAL || e == ENOSYS ? EAGAIN : e;
}

/* What waits on the descriptor comes back first (ECANCELED): see close(2)'s
   entry in prep_sys(3). */
int
mp_krun_close(msg_t *msg)
{
	ARGS(sys_close);
	mp_evloop_cancelfd(a->fd);
	return kret(msg, close(a->fd));
}

int MP_HOT
mp_krun_read(msg_t *msg)
{
	ARGS(sys_read);
	return kret(msg, read(a->fd, a->buf, a->count));
}

int
mp_ktry_read(msg_t *msg)
{
	ARGS(sys_read);
	struct iovec iov = { a->buf, a->count };

	return kret_try(msg, preadv2(a->fd, &iov, 1, -1, RWF_NOWAIT));
}

int
mp_ksqe_read(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_read);
	return ksqe_rw(sqe, IORING_OP_READ, a->fd, a->buf, a->count, -1);
}

int
mp_kfd_read(msg_t *msg, short *events)
{
	*events = KEV_READ;
	return ((struct sys_read *)msg)->fd;
}

int MP_HOT
mp_krun_write(msg_t *msg)
{
	ARGS(sys_write);
	return kret(msg, write(a->fd, a->buf, a->count));
}

int
mp_ktry_write(msg_t *msg)
{
	ARGS(sys_write);
	struct iovec iov = { (void *)a->buf, a->count };

	return kret_try(msg, pwritev2(a->fd, &iov, 1, -1, RWF_NOWAIT));
}

int
mp_ksqe_write(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_write);
	return ksqe_rw(sqe, IORING_OP_WRITE, a->fd, a->buf, a->count, -1);
}

int
mp_kfd_write(msg_t *msg, short *events)
{
	*events = KEV_WRITE;
	return ((struct sys_write *)msg)->fd;
}

int MP_HOT
mp_krun_pread(msg_t *msg)
{
	ARGS(sys_pread);
	return kret(msg, pread(a->fd, a->buf, a->count, a->offset));
}

int
mp_ktry_pread(msg_t *msg)
{
	ARGS(sys_pread);
	struct iovec iov = { a->buf, a->count };

	/* a negative offset would mean "file position" to preadv2 */
	if (a->offset < 0)
		return mp_krun_pread(msg);
	return kret_try(msg, preadv2(a->fd, &iov, 1, a->offset, RWF_NOWAIT));
}

int
mp_ksqe_pread(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_pread);
	if (a->offset < 0)
		return EINVAL;
	return ksqe_rw(sqe, IORING_OP_READ, a->fd, a->buf, a->count, a->offset);
}

int MP_HOT
mp_krun_pwrite(msg_t *msg)
{
	ARGS(sys_pwrite);
	return kret(msg, pwrite(a->fd, a->buf, a->count, a->offset));
}

int
mp_ktry_pwrite(msg_t *msg)
{
	ARGS(sys_pwrite);
	struct iovec iov = { (void *)a->buf, a->count };

	if (a->offset < 0)
		return mp_krun_pwrite(msg);
	return kret_try(msg, pwritev2(a->fd, &iov, 1, a->offset, RWF_NOWAIT));
}

int
mp_ksqe_pwrite(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_pwrite);
	if (a->offset < 0)
		return EINVAL;
	return ksqe_rw(sqe, IORING_OP_WRITE, a->fd, a->buf, a->count, a->offset);
}

int
mp_krun_readv(msg_t *msg)
{
	ARGS(sys_readv);
	return kret(msg, readv(a->fd, a->iov, a->iovcnt));
}

int
mp_ktry_readv(msg_t *msg)
{
	ARGS(sys_readv);
	return kret_try(msg, preadv2(a->fd, a->iov, a->iovcnt, -1, RWF_NOWAIT));
}

int
mp_ksqe_readv(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_readv);
	if (a->iovcnt < 0)
		return EINVAL;
	return ksqe_rw(sqe, IORING_OP_READV, a->fd, a->iov, (size_t)a->iovcnt, -1);
}

int
mp_kfd_readv(msg_t *msg, short *events)
{
	*events = KEV_READ;
	return ((struct sys_readv *)msg)->fd;
}

int
mp_krun_writev(msg_t *msg)
{
	ARGS(sys_writev);
	return kret(msg, writev(a->fd, a->iov, a->iovcnt));
}

int
mp_ktry_writev(msg_t *msg)
{
	ARGS(sys_writev);
	return kret_try(msg, pwritev2(a->fd, a->iov, a->iovcnt, -1, RWF_NOWAIT));
}

int
mp_ksqe_writev(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_writev);
	if (a->iovcnt < 0)
		return EINVAL;
	return ksqe_rw(sqe, IORING_OP_WRITEV, a->fd, a->iov, (size_t)a->iovcnt, -1);
}

int
mp_kfd_writev(msg_t *msg, short *events)
{
	*events = KEV_WRITE;
	return ((struct sys_writev *)msg)->fd;
}

int
mp_krun_lseek(msg_t *msg)
{
	ARGS(sys_lseek);
	return kret_sys(msg, ksys(SYS_lseek, a->fd, a->offset, a->whence));
}

int
mp_krun_fstat(msg_t *msg)
{
	ARGS(sys_fstat);
	return kret(msg, fstat(a->fd, a->st));
}

int
mp_krun_fstatat(msg_t *msg)
{
	ARGS(sys_fstatat);
	return kret(msg, fstatat(a->dirfd, a->path, a->st, a->flags));
}

/*
 * The arrays of this thread's recent fstatatv messages that were proved
 * readable (names) and writable (errs), by their addresses: a walker
 * reuses a few of them for thousands of messages, and proving them
 * again each time was two system calls per message (du hot: 7% slower).
 * A walk whose calls are spread over helpers (pool.c) has a hundred or
 * more in use, its window, and each helper meets all of them.  So KV_SETS
 * sets of KV_WAYS: one slot per array, as before (256 slots for 128
 * arrays), missed a third of the time, two arrays that hash to one slot
 * taking it from each other for the whole walk.
 * NOTE: arrays unmapped after they were proved are like a message freed
 * while in flight: the user's error, which the library cannot see.
 */
#define KV_SETS		128	/* 1 << 7: the hash keeps the top 7 bits */
#define KV_WAYS		4
struct kv_arrays {
	const void	*names, *errs;
	unsigned	n;
};
static __thread struct kv_set {
	struct kv_arrays way[KV_WAYS];
	unsigned	next;		/* the way the next new pair takes */
} kv_cache[KV_SETS];

static struct kv_set *
kv_setof(const struct sys_fstatatv *a)
{
	/* Fibonacci hashing: arrays a fixed stride apart spread over the sets */
	return &kv_cache[((uint64_t)(uintptr_t)a->names * 0x9e3779b97f4a7c15ULL) >> 57];
}

/* a's pair of arrays in the cache, proved for however many names; or NULL. */
static struct kv_arrays *
kv_find(const struct sys_fstatatv *a)
{
	struct kv_set *set = kv_setof(a);

	for (unsigned w = 0; w < KV_WAYS; w++)
		if (set->way[w].names == a->names && set->way[w].errs == a->errs)
			return &set->way[w];
	return NULL;
}

static bool
kv_proven(const struct sys_fstatatv *a)
{
	const struct kv_arrays *c = kv_find(a);

	return a->n > 0 && c != NULL && a->n <= c->n;
}

static void
kv_prove(const struct sys_fstatatv *a)
{
	struct kv_arrays *c = kv_find(a);
	struct kv_set *set;

	if (c == NULL) {
		set = kv_setof(a);
		c = &set->way[set->next++ % KV_WAYS];
	}
	c->names = a->names;
	c->errs = a->errs;
	c->n = a->n;
}

/*
 * mp_krun_fstatatv
 *	fstatat() of each name in turn.  The arrays are the library's to
 *	read and write, so they are copied as the kernel would (ucopy.c):
 *	names[] in with one call before anything runs, errs[] out with one
 *	call at the end; either one bad is the message's EFAULT.  A NULL
 *	name is that name's EFAULT (fstatat would take it, with
 *	AT_EMPTY_PATH, for the directory itself); the names and st[] go to
 *	the kernel, so a bad one is the real call's EFAULT, in errs[i].
 *	A running message is not cut short by abortsys(): like one
 *	fstatat(), it finishes.
 */
int
mp_krun_fstatatv(msg_t *msg)
{
	ARGS(sys_fstatatv);
	const char *names[FSTATATV_MAX];
	int errs[FSTATATV_MAX];
	unsigned i, ok = 0;

	msg->ms_result = -1;
	if (a->n > FSTATATV_MAX)
		return EINVAL;
	if (a->n > 0 && (a->names == NULL || a->st == NULL || a->errs == NULL))
		return EFAULT;
	if (kv_proven(a))
		memcpy(names, a->names, a->n * sizeof(names[0]));
	else if (mp_ucopyin(names, a->names, a->n * sizeof(names[0])) != 0)
		return EFAULT;
	for (i = 0; i < a->n; i++) {
		if (names[i] == NULL)
			errs[i] = EFAULT;
		else
			errs[i] = fstatat(a->dirfd, names[i], &a->st[i], a->flags) == 0 ? 0 : errno;
		ok += errs[i] == 0;
	}
	if (kv_proven(a))
		memcpy(a->errs, errs, a->n * sizeof(errs[0]));
	else if (mp_ucopyout(a->errs, errs, a->n * sizeof(errs[0])) != 0)
		return EFAULT;
	else if (a->n > 0)
		kv_prove(a);
	msg->ms_result = ok;
	return 0;
}

int
mp_krun_statx(msg_t *msg)
{
	ARGS(sys_statx);
	return kret(msg, syscall(SYS_statx, a->dirfd, a->path, a->flags, a->mask, a->stx));
}

int
mp_krun_fsync(msg_t *msg)
{
	ARGS(sys_fsync);
	return kret(msg, fsync(a->fd));
}

int
mp_krun_fdatasync(msg_t *msg)
{
	ARGS(sys_fsync);
	return kret(msg, fdatasync(a->fd));
}

int
mp_krun_ftruncate(msg_t *msg)
{
	ARGS(sys_ftruncate);
	return kret(msg, ftruncate(a->fd, a->length));
}

/* The most one entry takes: its header, a 255-byte name and its NUL, aligned. */
#define DIRENT64_MAX	((offsetof(struct dirent64, d_name) + 256 + 7) & ~(size_t)7)

/*
 * mp_krun_getdents64
 *	getdents64(), then again into what room is left while another entry
 *	could fit: a directory that fits in the buffer is read to its end in
 *	one message, and eof says so, sparing the sender the message that
 *	would only have returned 0.  An error after the first call is left
 *	for the next message to meet.
 */
int
mp_krun_getdents64(msg_t *msg)
{
	ARGS(sys_getdents64);
	long n = syscall(SYS_getdents64, a->fd, a->buf, a->count), more;

	a->eof = n == 0;
	while (n > 0 && (size_t)n + DIRENT64_MAX <= a->count) {
		more = syscall(SYS_getdents64, a->fd, (char *)a->buf + n, a->count - (size_t)n);
		if (more <= 0) {
			a->eof = more == 0;
			break;
		}
		n += more;
	}
	return kret(msg, n);
}

int
mp_krun_mkdirat(msg_t *msg)
{
	ARGS(sys_mkdirat);
	return kret(msg, mkdirat(a->dirfd, a->path, a->mode));
}

int
mp_krun_unlinkat(msg_t *msg)
{
	ARGS(sys_unlinkat);
	return kret(msg, unlinkat(a->dirfd, a->path, a->flags));
}

int
mp_krun_renameat(msg_t *msg)
{
	ARGS(sys_renameat);
	return kret(msg, renameat(a->olddirfd, a->oldpath, a->newdirfd, a->newpath));
}

/*
 * sendfile: a file's pages to a descriptor, usually a socket.  The try
 * needs out_fd in non-blocking mode (sendfile(2) has no flag for it):
 * then a full socket waits in the event loop; a blocking out_fd goes to
 * the pool.  Either way in_fd's pages are read as sendfile(2) reads them.
 */
#define KSENDFILE_POOL	1	/* ms_result after a try: out_fd blocks, the pool sends */

int
mp_krun_sendfile(msg_t *msg)
{
	ARGS(sys_sendfile);
	return kret(msg, sendfile(a->out_fd, a->in_fd, a->offset, a->count));
}

int
mp_ktry_sendfile(msg_t *msg)
{
	ARGS(sys_sendfile);
	int fl;

	if ((fl = fcntl(a->out_fd, F_GETFL)) < 0)
		return kret(msg, -1);
	if (!(fl & O_NONBLOCK)) {
		msg->ms_result = KSENDFILE_POOL;
		return EAGAIN;
	}
	return kret_try(msg, sendfile(a->out_fd, a->in_fd, a->offset, a->count));
}

int
mp_kfd_sendfile(msg_t *msg, short *events)
{
	*events = KEV_WRITE;
	return msg->ms_result == KSENDFILE_POOL ? -1 : ((struct sys_sendfile *)msg)->out_fd;
}
