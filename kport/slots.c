/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slots.c - the kernel's state and its request slots.
 *
 * An asynchronous message that leaves its sender's thread takes a slot
 * (struct kreq) from a fixed array, allocated at start: the bound on
 * messages in flight, and no allocation per message.  A slot is freed by
 * whoever finishes its message (the pool, the event loop, an abort); a
 * slot that still waits somewhere says how to leave it (kr_leave), so
 * this file knows no executor.
 *
 * The array is never freed while the process lives: a restart with more
 * slots, or a child after fork(), retires the old one (kept, chained), so
 * a stale ms_kstate pointer always points at a slot, which then holds
 * nothing of this run (mp_kreq_ours()).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kport-internal.h"

struct mp_kstate mp_kstate = {
	.ks_lock = PTHREAD_MUTEX_INITIALIZER,
	.ks_work = PTHREAD_COND_INITIALIZER,
	.ks_room = PTHREAD_COND_INITIALIZER,
	.ks_intrcv = PTHREAD_COND_INITIALIZER,
	.ks_gate = -1,
};

/*
 * mp_kreq_free
 *	Free kr (ks_lock held): out of wherever it still waits (its
 *	descriptor's FIFO: the next one's turn), its interrupt count
 *	dropped, and a sender waiting for room woken.
 */
void
mp_kreq_free(struct mp_kstate *ks, struct kreq *kr)
{
	if (kr->kr_leave != NULL)
		kr->kr_leave(kr);
	kr->kr_state = KR_FREE;
	kr->kr_msg = NULL;
	kr->kr_onworker = false;
	if (kr->kr_intr) {
		kr->kr_intr = false;
		ks->ks_intrs--;
	}
	kr->kr_next = ks->ks_free;
	ks->ks_free = kr;
	if (ks->ks_roomwait != 0)
		pthread_cond_signal(&ks->ks_room);
}

/*
 * mp_kreq_done
 *	The runner of kr is done with its message: free the slot and return
 *	the message with error.  The last touch of kr.
 */
void
mp_kreq_done(struct kreq *kr, int error)
{
	struct mp_kstate *ks = &mp_kstate;
	msg_t *msg = kr->kr_msg;

	msg->ms_error = error;
	klock(&ks->ks_lock);
	mp_kreq_free(ks, kr);
	kunlock(&ks->ks_lock);
	mp_msg_return(msg);
}

/*
 * mp_kreq_ours
 *	Is kr a slot of this run's array (ks_lock held)?  A stale pointer
 *	may point into a retired array, whose slots hold nothing, or into
 *	the parent's array in a child of fork(): those slots and their
 *	events are the parent's, never to be touched here.
 */
bool
mp_kreq_ours(const struct mp_kstate *ks, const struct kreq *kr)
{
	uintptr_t p = (uintptr_t)kr, base = (uintptr_t)ks->ks_slots;

	return p >= base && p < base + (uintptr_t)ks->ks_nslots * sizeof(*kr);
}

/*
 * mp_kslots_retire
 *	Put the slot array aside for good: stale ms_kstate pointers may
 *	still point into it (mp_kreq_ours() finds nothing there), so it is
 *	kept, chained to stay reachable.
 */
void
mp_kslots_retire(struct mp_kstate *ks)
{
	if (ks->ks_slots != NULL) {
		ks->ks_slots[0].kr_next = ks->ks_retired;
		ks->ks_retired = ks->ks_slots;
	}
	ks->ks_slots = NULL;
	ks->ks_cap = ks->ks_nslots = 0;
	ks->ks_free = NULL;
	ks->ks_fresh = 0;
}

/*
 * mp_kslots_reset
 *	nslots free slots for a start: the array is reused if it is large
 *	enough, else a new one replaces it (the old one is retired).  0 or
 *	ENOMEM.
 */
int
mp_kslots_reset(struct mp_kstate *ks, uint32_t nslots)
{
	struct kreq *slots = NULL;

	if (nslots > ks->ks_cap && (slots = calloc(nslots, sizeof(*slots))) == NULL)
		return ENOMEM;
	/* under the lock: an abortsys() of a stale message looks at the array */
	klock(&ks->ks_lock);
	if (slots != NULL) {
		mp_kslots_retire(ks);
		ks->ks_slots = slots;
		ks->ks_cap = nslots;
	} else {	/* only the used ones are not zero: touch no more pages */
		memset(ks->ks_slots, 0, ks->ks_fresh * sizeof(*ks->ks_slots));
	}
	ks->ks_nslots = nslots;
	ks->ks_free = NULL;
	ks->ks_fresh = 0;
	ks->ks_head = ks->ks_tail = NULL;
	ks->ks_queued = 0;
	ks->ks_stopping = true;		/* until the loop is there */
	kunlock(&ks->ks_lock);
	return 0;
}
