/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every bad input to the system port gets its own error and
 * leaves the port working: unknown command ENOSYS, wrong size or header
 * EINVAL, in-flight EBUSY, NULL EFAULT, bad pointers inside the
 * arguments the real call's EFAULT (never a crash), a full kernel EAGAIN
 * or a wait, as the message asks; a misaligned header EINVAL, untouched.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kputil.h"

#define BADPTR ((void *)1)

static void
unknown_command_is_enosys(void **s)
{
	struct sys_getpid m;
	uint32_t cmds[] = { 0, KCMD_MAX, KCMD_MAX + 1, 0xffffffffu };
	size_t i;

	(void)s;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		prep_getpid(&m);
		m.hdr.ms_cmd = cmds[i];
		assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), ENOSYS);
		assert_int_equal(m.hdr.ms_error, ENOSYS);
		assert_false(kp_flags(&m.hdr) & MSGF_INFLIGHT);
	}
	prep_getpid(&m);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), 0);	/* still works */
	assert_int_equal(m.hdr.ms_result, getpid());
}

static void
wrong_size_or_header_is_einval(void **s)
{
	struct { struct sys_pread m; char pad[16]; } big;
	struct sys_pread m;
	char buf[8];

	(void)s;
	prep_pread(&m, 0, buf, sizeof(buf), 0);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m) - 1), EINVAL);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(msg_t)), EINVAL);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(msg_t) - 1), EINVAL);
	prep_pread(&big.m, 0, buf, sizeof(buf), 0);
	assert_int_equal(sendsys(sysport(), &big.m.hdr, sizeof(big)), EINVAL);
	/* a header asking for what nobody knows, or a persistent syscall */
	prep_pread(&m, 0, buf, sizeof(buf), 0);
	m.hdr.ms_flags |= 0x80;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EINVAL);
	prep_pread(&m, 0, buf, sizeof(buf), 0);
	m.hdr.ms_flags |= MSGF_PERSISTENT;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EINVAL);
	prep_pread(&m, 0, buf, sizeof(buf), 0);
	m.hdr.ms_flags |= MSGF_PERSISTENT | MSGF_ASYNC;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EINVAL);
	assert_false(kp_flags(&m.hdr) & MSGF_INFLIGHT);
}

static void
inflight_is_ebusy_null_is_efault(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec hour = { 3600, 0 };
	struct sys_nanosleep m;

	(void)s;
	assert_int_equal(sendsys(sysport(), NULL, sizeof(m)), EFAULT);
	assert_int_equal(sendsys(NULL, &m.hdr, sizeof(m)), EFAULT);
	assert_int_equal(abortsys(NULL), EFAULT);
	prep_nanosleep(&m, &hour, NULL);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EBUSY);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), ECANCELED);
	assert_null(getport(rp));
	assert_int_equal(rmport(sysport()), EPERM);
	assert_int_equal(rmport(rp), 0);
}

/* The system port is for ever: closing it is refused, and it keeps working. */
static void
closeport_is_eperm(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec none = { 0, 0 };
	struct sys_nanosleep ns;
	struct sys_getpid gp;

	(void)s;
	assert_int_equal(closeport(sysport()), EPERM);
	assert_int_equal(closeport(sysport()), EPERM);
	prep_getpid(&gp);
	assert_int_equal(sendsys(sysport(), &gp.hdr, sizeof(gp)), 0);
	assert_int_equal(gp.hdr.ms_result, getpid());
	prep_nanosleep(&ns, &none, NULL);
	assert_int_equal(kp_send(&ns.hdr, sizeof(ns), 1, rp), 0);
	assert_int_equal(rmport(rp), 0);
}

/* Each call with a bad pointer, both ways: EFAULT, and nothing crashes. */
static void
bad_pointers_are_the_calls_efault(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_read rd;
	struct sys_fstatat st;
	struct sys_nanosleep ns;
	struct sys_poll po;
	struct sys_writev wv;
	struct sys_recvfrom rc;
	struct sys_syscall sc;
	int async, p[2], sv[2];

	(void)s;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (async = 0; async < 2; async++) {
		assert_int_equal(write(p[1], "data", 4), 4);
		prep_read(&rd, p[0], BADPTR, 4);
		assert_int_equal(kp_send(&rd.hdr, sizeof(rd), async, rp), EFAULT);
		assert_int_equal(rd.hdr.ms_result, -1);
		assert_int_equal(read(p[0], (char[4]){ 0 }, 4), 4);

		prep_stat(&st, BADPTR, BADPTR);
		assert_int_equal(kp_send(&st.hdr, sizeof(st), async, rp), EFAULT);
		prep_stat(&st, "/", BADPTR);
		assert_int_equal(kp_send(&st.hdr, sizeof(st), async, rp), EFAULT);
		prep_nanosleep(&ns, BADPTR, NULL);
		assert_int_equal(kp_send(&ns.hdr, sizeof(ns), async, rp), EFAULT);
		prep_poll(&po, BADPTR, 1, 10);
		assert_int_equal(kp_send(&po.hdr, sizeof(po), async, rp), EFAULT);
		prep_writev(&wv, p[1], BADPTR, 2);
		assert_int_equal(kp_send(&wv.hdr, sizeof(wv), async, rp), EFAULT);
		assert_int_equal(send(sv[0], "x", 1, 0), 1);
		prep_recv(&rc, sv[1], BADPTR, 1, 0);
		assert_int_equal(kp_send(&rc.hdr, sizeof(rc), async, rp), EFAULT);
		assert_int_equal(recv(sv[1], (char[1]){ 0 }, 1, 0), 1);
		prep_syscall(&sc, SYS_getcwd, (long)BADPTR, 100, 0, 0, 0, 0);
		assert_int_equal(kp_send(&sc.hdr, sizeof(sc), async, rp), EFAULT);
	}
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

struct blocked {
	struct sys_nanosleep	m;
	msgport_t		*rp;
	int			r;
	int			done;
};

static void *
send_blocking(void *arg)
{
	struct blocked *b = arg;

	b->r = sendsys(sysport(), &b->m.hdr, sizeof(b->m));
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Two slots: a third message waits for room, or is refused with EAGAIN. */
static void
full_kernel_waits_or_eagain(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = 2 };
	struct timespec hour = { 3600, 0 };
	msgport_t *rp = mkport_queue();
	struct sys_nanosleep m[3];
	struct blocked b;
	pthread_t t;
	int i;

	(void)s;
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(sysport_stop(), EINVAL);
	assert_int_equal(sysport_start(&attr), 0);
	assert_int_equal(sysport_start(&attr), EBUSY);
	for (i = 0; i < 2; i++) {
		prep_nanosleep(&m[i], &hour, NULL);
		prep_async(&m[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
	}
	prep_nanosleep(&m[2], &hour, NULL);
	prep_async(&m[2].hdr, rp);
	m[2].hdr.ms_flags |= MSGF_NONBLOCK;
	assert_int_equal(sendsys(sysport(), &m[2].hdr, sizeof(m[2])), EAGAIN);
	assert_false(kp_flags(&m[2].hdr) & MSGF_INFLIGHT);

	memset(&b, 0, sizeof(b));
	prep_nanosleep(&b.m, &hour, NULL);
	prep_async(&b.m.hdr, rp);
	assert_int_equal(pthread_create(&t, NULL, send_blocking, &b), 0);
	assert_int_equal(abortsys(&m[0].hdr), 0);	/* makes room */
	assert_int_equal(kp_waitdone(rp, &m[0].hdr), ECANCELED);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.r, EASYNC);
	assert_int_equal(abortsys(&m[1].hdr), 0);
	assert_int_equal(abortsys(&b.m.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &m[1].hdr), ECANCELED);
	assert_int_equal(kp_waitdone(rp, &b.m.hdr), ECANCELED);
	assert_null(getport(rp));
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(rmport(rp), 0);
}

/* A header at an odd address: EINVAL, sync or async, and not a byte changed. */
static void
misaligned_header_is_einval(void **s)
{
	_Alignas(64) unsigned char buf[sizeof(struct sys_getpid) + 64], copy[sizeof(buf)];
	msgport_t *rp = mkport_queue();
	struct sys_getpid g;
	int async;

	(void)s;
	for (async = 0; async < 2; async++) {
		prep_getpid(&g);
		if (async)
			prep_async(&g.hdr, rp);
		memcpy(buf + 1, &g, sizeof(g));
		memcpy(copy, buf, sizeof(buf));
		assert_int_equal(sendsys(sysport(), (msg_t *)(void *)(buf + 1), sizeof(g)), EINVAL);
		assert_memory_equal(buf, copy, sizeof(buf));
	}
	assert_null(getport(rp));
	prep_getpid(&g);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(g.hdr.ms_result, getpid());
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_command_is_enosys),
		cmocka_unit_test(wrong_size_or_header_is_einval),
		cmocka_unit_test(inflight_is_ebusy_null_is_efault),
		cmocka_unit_test(closeport_is_eperm),
		cmocka_unit_test(bad_pointers_are_the_calls_efault),
		cmocka_unit_test(full_kernel_waits_or_eagain),
		cmocka_unit_test(misaligned_header_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
