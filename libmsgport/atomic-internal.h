/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * atomic-internal.h - the atomics msgport uses, in one place.
 *
 * Normally these are Concurrency Kit's ck_pr operations.  ThreadSanitizer
 * cannot see ck_pr's inline assembly on x86-64 and would report false
 * races, so TSan builds route the same operations through the compiler's
 * __atomic builtins, which it understands.  Nothing else in msgport calls
 * ck_pr or __atomic directly.
 *
 * Orderings: loads marked _acq are acquire, stores marked _rel are
 * release, and every read-modify-write is sequentially consistent (as
 * ck_pr's lock-prefixed ones are on x86).  mp_barrier() is a compiler
 * barrier only: enough between a thread and a signal handler running on
 * that same thread, which is all critical sections need.
 */
#ifndef MSGPORT_ATOMIC_INTERNAL_H
#define MSGPORT_ATOMIC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define MP_ATOMIC_BUILTINS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MP_ATOMIC_BUILTINS 1
#endif
#endif

#ifdef MP_ATOMIC_BUILTINS

static inline uint32_t mp_load_32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint32_t mp_load_acq_32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void mp_store_32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void mp_store_rel_32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t mp_faa_32(uint32_t *p, uint32_t d) { return __atomic_fetch_add(p, d, __ATOMIC_SEQ_CST); }
static inline void mp_or_32(uint32_t *p, uint32_t v) { __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
static inline bool
mp_cas_32(uint32_t *p, uint32_t *expect, uint32_t set)
{
	return __atomic_compare_exchange_n(p, expect, set, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline void *mp_load_ptr(void *const *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void *mp_load_acq_ptr(void *const *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void mp_store_ptr(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void mp_store_rel_ptr(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void *mp_fas_ptr(void **p, void *v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline bool
mp_cas_ptr(void **p, void **expect, void *set)
{
	return __atomic_compare_exchange_n(p, expect, set, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline void mp_pause(void) { __builtin_ia32_pause(); }
static inline void mp_barrier(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

#else /* Concurrency Kit */

#include <ck_pr.h>

static inline uint32_t mp_load_32(const uint32_t *p) { return ck_pr_load_32(p); }
static inline uint32_t
mp_load_acq_32(const uint32_t *p)
{
	uint32_t v = ck_pr_load_32(p);

	ck_pr_fence_acquire();
	return v;
}
static inline void mp_store_32(uint32_t *p, uint32_t v) { ck_pr_store_32(p, v); }
static inline void
mp_store_rel_32(uint32_t *p, uint32_t v)
{
	ck_pr_fence_release();
	ck_pr_store_32(p, v);
}
static inline uint32_t mp_faa_32(uint32_t *p, uint32_t d) { return ck_pr_faa_32(p, d); }
static inline void mp_or_32(uint32_t *p, uint32_t v) { ck_pr_or_32(p, v); }
static inline bool
mp_cas_32(uint32_t *p, uint32_t *expect, uint32_t set)
{
	return ck_pr_cas_32_value(p, *expect, set, expect);
}
static inline void *mp_load_ptr(void *const *p) { return ck_pr_load_ptr(p); }
static inline void mp_store_ptr(void **p, void *v) { ck_pr_store_ptr(p, v); }
static inline void *
mp_load_acq_ptr(void *const *p)
{
	void *v = ck_pr_load_ptr(p);

	ck_pr_fence_acquire();
	return v;
}
static inline void
mp_store_rel_ptr(void **p, void *v)
{
	ck_pr_fence_release();
	ck_pr_store_ptr(p, v);
}
static inline void *mp_fas_ptr(void **p, void *v) { return ck_pr_fas_ptr(p, v); }
static inline bool
mp_cas_ptr(void **p, void **expect, void *set)
{
	return ck_pr_cas_ptr_value(p, *expect, set, expect);
}
static inline void mp_pause(void) { ck_pr_stall(); }
static inline void mp_barrier(void) { ck_pr_barrier(); }

#endif /* MP_ATOMIC_BUILTINS */

#endif /* MSGPORT_ATOMIC_INTERNAL_H */
