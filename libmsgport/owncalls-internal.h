/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * owncalls-internal.h - the library's own system calls are never
 * recorded.  While a thread records (kport/record.c), its calls trap
 * unless the dispatch selector mp_rec_sel is 0 (ALLOW); the entry
 * points that make calls in the caller's thread clear it for as long as
 * they run and put it back.  Not recording, it is 0: one load.
 */
#ifndef MSGPORT_OWNCALLS_INTERNAL_H
#define MSGPORT_OWNCALLS_INTERNAL_H

extern __thread volatile char mp_rec_sel __attribute__((tls_model("initial-exec")));

#define MP_OWNCALLS_BEGIN(saved) \
	char saved = mp_rec_sel; \
	if (__builtin_expect(saved != 0, 0)) \
		mp_rec_sel = 0
#define MP_OWNCALLS_END(saved) do { \
	if (__builtin_expect(saved != 0, 0)) \
		mp_rec_sel = saved; \
} while (0)

#endif /* MSGPORT_OWNCALLS_INTERNAL_H */
