/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * owncalls-internal.h - the library's own system calls are never
 * recorded.  While a thread records (kport/record.c), its calls trap
 * unless the dispatch selector mp_rec_sel is 0 (ALLOW); the entry
 * points that make calls in the caller's thread clear it for as long as
 * they run and put it back.  While no thread of the process records
 * (mp_rec_users) nothing else is looked at.  sendsys() itself has no
 * bracket, so that the system port's synchronous path costs what it did
 * (bench/callgrind-kport.sh): while a thread records, the system port
 * takes every message the generic way, mp_msg_send(), which has one
 * (mp_sysport_generic()).
 */
#ifndef MSGPORT_OWNCALLS_INTERNAL_H
#define MSGPORT_OWNCALLS_INTERNAL_H

#include <stdint.h>

#include "atomic-internal.h"

#pragma GCC visibility push(hidden)
extern __thread volatile char mp_rec_sel __attribute__((tls_model("initial-exec")));
extern uint32_t mp_rec_users;	/* threads with the dispatch on; atomic */
#pragma GCC visibility pop

/* Does any thread record?  Then this one may. */
#define MP_OWNCALLS_BEGIN(saved) \
	char saved = __builtin_expect(mp_load_32(&mp_rec_users) != 0, 0) ? mp_rec_sel : 0; \
	if (__builtin_expect(saved != 0, 0)) \
		mp_rec_sel = 0
#define MP_OWNCALLS_END(saved) do { \
	if (__builtin_expect(saved != 0, 0)) \
		mp_rec_sel = saved; \
} while (0)

#endif /* MSGPORT_OWNCALLS_INTERNAL_H */
