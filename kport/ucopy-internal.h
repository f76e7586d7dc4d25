/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ucopy-internal.h - reading and writing user memory as the kernel would
 * (ucopy.c).
 */
#ifndef UCOPY_INTERNAL_H
#define UCOPY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

/*
 * ucopy.c: user memory the library itself reads or writes (argument
 * arrays, slate entries), copied as the kernel would: 0, or EFAULT for
 * a bad address, never a fault.  mp_ucopyv() copies n user areas in one
 * call (in: from them into la[], else from la[] into them).
 */
struct iovec;
int	mp_ucopyv(const struct iovec *la, unsigned nl, const struct iovec *ua, unsigned n, bool in);
int	mp_ucopyin(void *to, const void *from, size_t len);
int	mp_ucopyout(void *to, const void *from, size_t len);

#pragma GCC visibility pop

#endif /* UCOPY_INTERNAL_H */
