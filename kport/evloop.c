/*
 * evloop.c - the kernel thread that waits for descriptors: one libevent
 * event_base, run by one thread.
 *
 * A message whose non-blocking try would block on a pollable descriptor
 * arms its slot's one-shot event (allocated once per slot at start, so
 * nothing is allocated per message); when the descriptor is ready the
 * loop thread runs the try again, and either returns the message or arms
 * it again.  Other threads arm and disarm events directly: libevent's
 * pthreads support locks the base and wakes the loop.
 */
#include "config.h"

#include <assert.h>
#include <signal.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "kport-internal.h"

static_assert(KEV_READ == EV_READ && KEV_WRITE == EV_WRITE, "kc_fd events are libevent's");

static pthread_once_t evloop_once = PTHREAD_ONCE_INIT;
static int evloop_threads;

static void
evloop_init(void)
{
	evloop_threads = evthread_use_pthreads();
}

/*
 * evloop_ready
 *	kr's descriptor is ready: if nobody cancelled kr meanwhile, run the
 *	call without blocking; return it, or wait again if it still would
 *	block (unless aborted or shutting down).
 */
static void
evloop_ready(evutil_socket_t fd, short what, void *arg)
{
	struct kstate *ks = &kstate;
	struct kreq *kr = arg;
	msg_t *msg;
	int error;

	(void)fd, (void)what;
	klock(&ks->ks_lock);
	if (kr->kr_state != KR_WAITING) {
		kunlock(&ks->ks_lock);
		return;
	}
	kr->kr_state = KR_RUNNING;
	kunlock(&ks->ks_lock);

	msg = kr->kr_msg;
	MP_TRACE("run", msg, NULL, kr->kr_cmd->kc_name, "loop");
	error = kaborted(msg) ? kcancel(msg) : kr->kr_cmd->kc_try(msg);
	if (error == EAGAIN) {
		klock(&ks->ks_lock);
		if (!kaborted(msg) && !ks->ks_stopping) {
			kr->kr_state = KR_WAITING;
			if (event_add(kr->kr_ev, NULL) == 0) {
				kunlock(&ks->ks_lock);
				return;
			}
			kr->kr_state = KR_RUNNING;
			error = kret(msg, -1);
		} else {
			error = kcancel(msg);
		}
		kunlock(&ks->ks_lock);
	}
	kreq_done(kr, error);
}

/* The stop event: runs in the loop, so it cannot come before the loop starts. */
static void
evloop_quit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

static void *
evloop_main(void *arg)
{
	struct kstate *ks = arg;

	event_base_loop(ks->ks_base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/*
 * evloop_start
 *	A base, one event per slot, and the loop thread (every signal
 *	blocked).
 */
int
evloop_start(struct kstate *ks)
{
	sigset_t all, old;
	uint32_t i;
	int r;

	pthread_once(&evloop_once, evloop_init);
	if (evloop_threads != 0)
		return ENOTSUP;
	errno = 0;
	if ((ks->ks_base = event_base_new()) == NULL)
		return errno != 0 ? errno : ENOMEM;	/* as the system said it */
	if ((ks->ks_stopev = event_new(ks->ks_base, -1, 0, evloop_quit, ks->ks_base)) == NULL) {
		r = ENOMEM;
		goto fail;
	}
	for (i = 0; i < ks->ks_nslots; i++) {
		ks->ks_slots[i].kr_ev = event_new(ks->ks_base, -1, 0, evloop_ready, &ks->ks_slots[i]);
		if (ks->ks_slots[i].kr_ev == NULL) {
			r = ENOMEM;
			goto fail;
		}
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&ks->ks_evthread, NULL, evloop_main, ks);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		return 0;
fail:
	for (i = 0; i < ks->ks_nslots && ks->ks_slots[i].kr_ev != NULL; i++) {
		event_free(ks->ks_slots[i].kr_ev);
		ks->ks_slots[i].kr_ev = NULL;
	}
	if (ks->ks_stopev != NULL)
		event_free(ks->ks_stopev);
	ks->ks_stopev = NULL;
	event_base_free(ks->ks_base);
	ks->ks_base = NULL;
	return r;
}

/* Stop the loop thread and free the events and the base (nothing is armed). */
void
evloop_stop(struct kstate *ks)
{
	uint32_t i;

	event_active(ks->ks_stopev, EV_READ, 0);
	pthread_join(ks->ks_evthread, NULL);
	event_free(ks->ks_stopev);
	ks->ks_stopev = NULL;
	for (i = 0; i < ks->ks_nslots; i++) {
		event_free(ks->ks_slots[i].kr_ev);
		ks->ks_slots[i].kr_ev = NULL;
	}
	event_base_free(ks->ks_base);
	ks->ks_base = NULL;
}

/* Arm kr's event for events on fd (under ks_lock).  0, or -1 if the
   descriptor cannot be polled (the caller uses the pool). */
int
evloop_arm(struct kreq *kr, int fd, short events)
{
	if (event_assign(kr->kr_ev, kstate.ks_base, fd, events, evloop_ready, kr) != 0)
		return -1;
	return event_add(kr->kr_ev, NULL);
}

/* Take kr's event off the loop; waits for its callback if it is running. */
void
evloop_disarm(struct kreq *kr)
{
	event_del(kr->kr_ev);
}
