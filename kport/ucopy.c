/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ucopy.c - reading and writing user memory the library itself must
 * touch (argument arrays, slate entries), the way the kernel's
 * copy_from_user() does: a bad address is EFAULT, never a fault.  The
 * copies are process_vm_readv()/process_vm_writev() on this process,
 * many areas per call.
 */
#include "config.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kport-internal.h"
#include "ucopy-internal.h"

/* This process's id, for process_vm_*v(); 0: not known (yet, or since a
   fork).  getpid() is a system call: not one per copy. */
static uint32_t kself;

static void
ucopy_atfork_child(void)
{
	mp_store_32(&kself, 0);
}

__attribute__((constructor)) static void
ucopy_init(void)
{
	pthread_atfork(NULL, NULL, ucopy_atfork_child);
}

static pid_t
self(void)
{
	pid_t p = (pid_t)mp_load_32(&kself);

	if (p == 0) {
		p = (pid_t)syscall(SYS_getpid);
		mp_store_32(&kself, (uint32_t)p);
	}
	return p;
}

/*
 * mp_ucopyv
 *	Copy the n user areas ua[] from (in) or to (out) our buffers la[],
 *	of the same total length, in one call.  Returns 0 or EFAULT (a
 *	short copy: some area is not mapped, or not writable).
 *	NOTE: n at most IOV_MAX (1024).
 */
int
mp_ucopyv(const struct iovec *la, unsigned nl, const struct iovec *ua, unsigned n, bool in)
{
	size_t len = 0;
	ssize_t r;
	unsigned i;

	for (i = 0; i < n; i++)
		len += ua[i].iov_len;
	if (len == 0)
		return 0;
	r = in ? process_vm_readv(self(), la, nl, ua, n, 0) : process_vm_writev(self(), la, nl, ua, n, 0);
	return r == (ssize_t)len ? 0 : EFAULT;
}

int
mp_ucopyin(void *to, const void *from, size_t len)
{
	struct iovec l = { to, len }, u = { (void *)from, len };

	return mp_ucopyv(&l, 1, &u, 1, true);
}

int
mp_ucopyout(void *to, const void *from, size_t len)
{
	struct iovec l = { (void *)from, len }, u = { to, len };

	return mp_ucopyv(&l, 1, &u, 1, false);
}
