/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: plugsys(): a plugged thread's asynchronous messages are
 * held (EASYNC) and tried together -- in the thread's io_uring, or one
 * by one without it (sa_noring); every test runs both ways.  They go at
 * KRING_MAX held, at the outermost unplugsys(), at waitsys(),
 * timedwaitsys() and flushsys(), and when the thread exits; each comes
 * back once, through its reply port, with the raw call's outcome.  What
 * would block goes on to the event loop; errors, aborts and a shutdown
 * come back as such; a child of fork() does not send its parent's; and
 * a storm of plugged threads, with aborts racing, loses nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/io_uring.h>

#include "kputil.h"

/* ThreadSanitizer refuses threads in a child of a threaded parent unless told. */
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
	return "die_after_fork=0";
}

#define BLK	512
#define NBLK	64
#define HOLD	32		/* KRING_MAX: the held messages go at this many */

static int filefd;		/* NBLK blocks, block i all of byte 'A' + i % 26 */
static bool have_ring;		/* the kernel lets us set up an io_uring */
static msgport_t *rp;

static void
restart(bool ring)
{
	struct sysport_attr attr = { .sa_noring = !ring };

	(void)sysport_stop();		/* EINVAL if never started */
	assert_int_equal(sysport_start(&attr), 0);
}

static int
with_ring(void **state)
{
	(void)state;
	restart(true);
	return 0;
}

static int
without_ring(void **state)
{
	(void)state;
	restart(false);
	return 0;
}

static int
group_setup(void **state)
{
	char blk[BLK];
	struct io_uring_params p;
	int i, fd;

	kp_group_tmpdir(state);
	assert_true((filefd = open("data", O_CREAT | O_RDWR, 0644)) >= 0);
	for (i = 0; i < NBLK; i++) {
		memset(blk, 'A' + i % 26, sizeof(blk));
		assert_int_equal(write(filefd, blk, BLK), BLK);
	}
	/* as kport/ring.c asks of the kernel: the features, and a ring
	   registered with its thread */
	memset(&p, 0, sizeof(p));
	if ((fd = (int)syscall(__NR_io_uring_setup, 4, &p)) >= 0) {
		struct io_uring_rsrc_update up = { .offset = -1U, .data = (uint64_t)fd };
		unsigned want = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_RW_CUR_POS |
		    IORING_FEAT_NATIVE_WORKERS;

		have_ring = (p.features & want) == want &&
		    syscall(__NR_io_uring_register, fd, IORING_REGISTER_RING_FDS, &up, 1) == 1;
		close(fd);
	}
	if (!have_ring)
		print_message("no io_uring here: the ring tests run one by one\n");
	assert_non_null(rp = mkport_queue());
	return 0;
}

static int
group_teardown(void **state)
{
	close(filefd);
	assert_int_equal(rmport(rp), 0);
	return kp_group_rmtree(state);
}

static void
prep_block(struct sys_pread *m, char *buf, int i)
{
	prep_pread(m, filefd, buf, BLK, (off_t)i * BLK);
	prep_async(&m->hdr, rp);
}

/* Take everything pending on rp: how many; each must be one of m[0..n). */
static int
drain(struct sys_pread *m, int n, int *seen)
{
	msg_t *g;
	int got = 0, i;

	while ((g = getport(rp)) != NULL) {
		i = (int)((struct sys_pread *)g - m);
		assert_true(i >= 0 && i < n);
		assert_int_equal(seen[i]++, 0);		/* once */
		assert_true(kp_flags(g) & MSGF_DONE);
		assert_false(kp_flags(g) & MSGF_INFLIGHT);
		got++;
	}
	return got;
}

/* How many lines of the file (a /proc one) name io_uring. */
static int
count_uring(const char *cmd)
{
	char line[512];
	FILE *f;
	int n = 0;

	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "io_uring") != NULL;
	assert_int_equal(pclose(f), 0);
	return n;
}

#define URING_MAPS()	count_uring("cat /proc/$PPID/maps")
#define URING_FDS()	count_uring("ls -l /proc/$PPID/fd")

/*
 * Forty plugged preads: each sendsys() says EASYNC; the first HOLD go
 * when the last of them is held, the rest at unplugsys(); every one
 * comes back once with its block.  With a ring, they went through it:
 * the kernel counts their completions.
 */
static void
held_preads_come_back_once(void **state)
{
	static struct sys_pread m[40];
	static char buf[40][BLK];
	int seen[40] = { 0 }, i, j;

	(void)state;
	assert_int_equal(plugsys(), 0);
	for (i = 0; i < 40; i++) {
		prep_block(&m[i], buf[i], i);
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
		if (i == HOLD - 2)
			assert_int_equal(drain(m, 40, seen), 0);	/* all held */
	}
	assert_int_equal(drain(m, 40, seen), HOLD);
	assert_int_equal(unplugsys(), 0);
	assert_int_equal(drain(m, 40, seen), 40 - HOLD);
	for (i = 0; i < 40; i++) {
		assert_int_equal(seen[i], 1);
		assert_int_equal(m[i].hdr.ms_error, 0);
		assert_int_equal(m[i].hdr.ms_result, BLK);
		for (j = 0; j < BLK; j++)
			assert_int_equal(buf[i][j], 'A' + i % 26);
	}
}

/*
 * A plugged thread sets up a ring of its own at its first batch (two
 * mappings: the queues, the requests) and keeps no descriptor for it, so
 * a program closing descriptors cannot take it away; without one (or
 * without io_uring) nothing is mapped.  Checked while the thread lives.
 */
struct ringthread {
	pthread_barrier_t	b;
	const char		*err;
};

static void *
plug_once(void *arg)
{
	struct ringthread *t = arg;
	struct sys_pread m[5];
	char buf[5][BLK];
	int i;

	t->err = plugsys() != 0 ? "plugsys" : NULL;
	for (i = 0; i < 5 && t->err == NULL; i++) {
		prep_block(&m[i], buf[i], i);
		if (sendsys(sysport(), &m[i].hdr, sizeof(m[i])) != EASYNC)
			t->err = "sendsys";
	}
	if (t->err == NULL && unplugsys() != 0)
		t->err = "unplugsys";
	for (i = 0; i < 5 && t->err == NULL; i++)
		if (kp_waitdone(rp, &m[i].hdr) != 0 || m[i].hdr.ms_result != BLK)
			t->err = "a pread";
	pthread_barrier_wait(&t->b);	/* the main thread looks now */
	pthread_barrier_wait(&t->b);
	return NULL;
}

static void
a_thread_has_a_ring_and_no_descriptor(void **state)
{
	struct ringthread t;
	pthread_t th;
	bool ring = *(bool *)*state;
	int before, during;

	before = URING_MAPS();
	assert_int_equal(pthread_barrier_init(&t.b, NULL, 2), 0);
	assert_int_equal(pthread_create(&th, NULL, plug_once, &t), 0);
	pthread_barrier_wait(&t.b);
	during = URING_MAPS();
	assert_int_equal(URING_FDS(), 0);
	pthread_barrier_wait(&t.b);
	assert_int_equal(pthread_join(th, NULL), 0);
	pthread_barrier_destroy(&t.b);
	if (t.err != NULL)
		fail_msg("%s", t.err);
	assert_int_equal(during - before, ring && have_ring ? 2 : 0);
	assert_int_equal(URING_MAPS(), before);		/* gone with its thread */
}

/* Waiting sends what the thread holds: no deadlock on its own message. */
static void
waiting_sends_held(void **state)
{
	struct sys_pread m;
	struct timespec t = { 30, 0 };
	char buf[BLK];
	int i;

	(void)state;
	assert_int_equal(plugsys(), 0);
	for (i = 0; i < 3; i++) {
		prep_block(&m, buf, 7);
		assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
		assert_null(getport(rp));			/* held */
		switch (i) {
		case 0:
			assert_int_equal(waitsys(rp, &m.hdr), 0);
			break;
		case 1:
			assert_int_equal(timedwaitsys(rp, &m.hdr, &t), 0);
			break;
		case 2:
			flushsys();
			assert_ptr_equal(getport(rp), &m.hdr);
			break;
		}
		assert_int_equal(m.hdr.ms_result, BLK);
		assert_int_equal(buf[0], 'A' + 7);
		assert_null(getport(rp));
	}
	/* waitsys(NULL, msg) too: the message has no reply port */
	prep_pread(&m, filefd, buf, BLK, 0);
	prep_async(&m.hdr, NULL);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(waitsys(NULL, &m.hdr), 0);
	assert_int_equal(m.hdr.ms_result, BLK);
	assert_int_equal(unplugsys(), 0);
}

/* Nesting: only the outermost unplugsys() sends; one too many is EINVAL. */
static void
plugs_nest(void **state)
{
	struct sys_pread m;
	char buf[BLK];

	(void)state;
	assert_int_equal(unplugsys(), EINVAL);
	assert_int_equal(plugsys(), 0);
	assert_int_equal(plugsys(), 0);
	prep_block(&m, buf, 3);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(unplugsys(), 0);
	assert_null(getport(rp));
	assert_true(kp_flags(&m.hdr) & MSGF_INFLIGHT);
	assert_int_equal(unplugsys(), 0);
	assert_ptr_equal(getport(rp), &m.hdr);
	assert_int_equal(m.hdr.ms_result, BLK);
	assert_int_equal(unplugsys(), EINVAL);
}

/*
 * Every ring form against the raw call: write and writev at the file
 * position, pwrite, send, sendmsg; then read and readv at the file
 * position, recv, recvmsg.
 */
struct sent {
	msg_t	*m;
	size_t	size;
};

static void
send_plugged(struct sent *v, size_t n)
{
	size_t i;

	assert_int_equal(plugsys(), 0);
	for (i = 0; i < n; i++) {
		prep_async(v[i].m, rp);
		assert_int_equal(sendsys(sysport(), v[i].m, v[i].size), EASYNC);
	}
	assert_int_equal(unplugsys(), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(kp_waitdone(rp, v[i].m), 0);
	assert_null(getport(rp));
}

static void
every_ring_form_as_the_raw_call(void **state)
{
	struct sys_write w;
	struct sys_pwrite pw;
	struct sys_writev wv;
	struct sys_read r;
	struct sys_readv rv;
	struct sys_sendto s;
	struct sys_recvfrom rf;
	struct sys_sendmsg sm;
	struct sys_recvmsg rm;
	char rbuf[16] = { 0 }, vbuf[2][4] = { { 0 } }, sbuf[8] = { 0 }, mbuf[8] = { 0 };
	struct iovec out[2] = { { "vec", 3 }, { "tor", 3 } };
	struct iovec in[2] = { { vbuf[0], 3 }, { vbuf[1], 3 } };
	struct iovec sio = { "msg!", 4 }, rio = { mbuf, sizeof(mbuf) };
	struct msghdr smh = { .msg_iov = &sio, .msg_iovlen = 1 };
	struct msghdr rmh = { .msg_iov = &rio, .msg_iovlen = 1 };
	int a, b, sv[2];

	(void)state;
	assert_true((a = open("forms-a", O_CREAT | O_TRUNC | O_RDWR, 0644)) >= 0);
	assert_true((b = open("forms-b", O_CREAT | O_TRUNC | O_RDWR, 0644)) >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_write(&w, a, "hello", 5);
	prep_pwrite(&pw, a, "HELLO", 5, 10);
	prep_writev(&wv, b, out, 2);
	prep_send(&s, sv[0], "sock", 4, MSG_NOSIGNAL);	/* else not through the ring */
	prep_sendmsg(&sm, sv[0], &smh, MSG_NOSIGNAL);
	send_plugged((struct sent[]){ { &w.hdr, sizeof(w) }, { &pw.hdr, sizeof(pw) },
	    { &wv.hdr, sizeof(wv) }, { &s.hdr, sizeof(s) }, { &sm.hdr, sizeof(sm) } }, 5);
	assert_int_equal(w.hdr.ms_result, 5);
	assert_int_equal(pw.hdr.ms_result, 5);
	assert_int_equal(wv.hdr.ms_result, 6);
	assert_int_equal(s.hdr.ms_result, 4);
	assert_int_equal(sm.hdr.ms_result, 4);
	assert_int_equal(lseek(a, 0, SEEK_CUR), 5);		/* write moved it */
	assert_int_equal(pread(a, rbuf, 15, 0), 15);
	assert_memory_equal(rbuf, "hello\0\0\0\0\0HELLO", 15);
	assert_int_equal(pread(b, rbuf, 6, 0), 6);
	assert_memory_equal(rbuf, "vector", 6);

	assert_int_equal(lseek(a, 0, SEEK_SET), 0);
	assert_int_equal(lseek(b, 0, SEEK_SET), 0);
	memset(rbuf, 0, sizeof(rbuf));
	prep_read(&r, a, rbuf, 5);
	prep_readv(&rv, b, in, 2);
	prep_recv(&rf, sv[1], sbuf, 4, 0);
	prep_recvmsg(&rm, sv[1], &rmh, 0);
	send_plugged((struct sent[]){ { &r.hdr, sizeof(r) }, { &rv.hdr, sizeof(rv) },
	    { &rf.hdr, sizeof(rf) } }, 3);
	send_plugged((struct sent[]){ { &rm.hdr, sizeof(rm) } }, 1);
	assert_int_equal(r.hdr.ms_result, 5);
	assert_memory_equal(rbuf, "hello", 5);
	assert_int_equal(lseek(a, 0, SEEK_CUR), 5);		/* read moved it */
	assert_int_equal(rv.hdr.ms_result, 6);
	assert_memory_equal(vbuf[0], "vec", 3);
	assert_memory_equal(vbuf[1], "tor", 3);
	assert_int_equal(rf.hdr.ms_result, 4);
	assert_memory_equal(sbuf, "sock", 4);
	assert_int_equal(rm.hdr.ms_result, 4);
	assert_memory_equal(mbuf, "msg!", 4);
	close(sv[0]);
	close(sv[1]);
	close(a);
	close(b);
}

/*
 * A plugged thread's messages run in the order it sent them when none
 * would block, those the ring cannot express included: a send that may
 * raise SIGPIPE (no MSG_NOSIGNAL) is tried the plain way between ring
 * runs.  And it does raise it, as the raw call does; with MSG_NOSIGNAL
 * neither does.
 */
static volatile sig_atomic_t sigpipes;

static void
on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void
order_and_sigpipe_as_the_raw_calls(void **state)
{
	struct sys_sendto s[4];
	static const char *part[4] = { "one,", "two,", "three,", "four" };
	static const int flags[4] = { 0, MSG_NOSIGNAL, 0, MSG_NOSIGNAL };
	struct sigaction sa = { .sa_handler = on_sigpipe }, old;
	char buf[64] = { 0 };
	int sv[2], i, raw;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(plugsys(), 0);
	for (i = 0; i < 4; i++) {
		prep_send(&s[i], sv[0], part[i], strlen(part[i]), flags[i]);
		prep_async(&s[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &s[i].hdr, sizeof(s[i])), EASYNC);
	}
	assert_int_equal(unplugsys(), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(kp_waitdone(rp, &s[i].hdr), 0);
	assert_int_equal(recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT), 18);
	assert_string_equal(buf, "one,two,three,four");

	/* the peer gone: EPIPE, and SIGPIPE unless MSG_NOSIGNAL */
	close(sv[1]);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
	for (i = 0; i < 2; i++) {
		sigpipes = 0;
		raw = RAWERR(send(sv[0], "x", 1, flags[i]));
		assert_int_equal(raw, EPIPE);
		assert_int_equal(sigpipes, flags[i] ? 0 : 1);
		sigpipes = 0;
		prep_send(&s[i], sv[0], "x", 1, flags[i]);
		prep_async(&s[i].hdr, rp);
		assert_int_equal(plugsys(), 0);
		assert_int_equal(sendsys(sysport(), &s[i].hdr, sizeof(s[i])), EASYNC);
		assert_int_equal(unplugsys(), 0);
		assert_int_equal(kp_waitdone(rp, &s[i].hdr), raw);
		assert_int_equal(sigpipes, flags[i] ? 0 : 1);
	}
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	close(sv[0]);
}

/*
 * What would block goes on: an empty pipe's read and an empty socket's
 * receive wait in the event loop and come back once there is data.
 */
static void
would_block_goes_on(void **state)
{
	struct sys_read r;
	struct sys_recvfrom rf;
	char pb[8] = { 0 }, sb[8] = { 0 };
	int p[2], sv[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_read(&r, p[0], pb, sizeof(pb));
	prep_recv(&rf, sv[0], sb, sizeof(sb), 0);
	prep_async(&r.hdr, rp);
	prep_async(&rf.hdr, rp);
	assert_int_equal(plugsys(), 0);
	assert_int_equal(sendsys(sysport(), &r.hdr, sizeof(r)), EASYNC);
	assert_int_equal(sendsys(sysport(), &rf.hdr, sizeof(rf)), EASYNC);
	assert_int_equal(unplugsys(), 0);
	assert_null(getport(rp));			/* waiting for data */
	assert_true(kp_flags(&r.hdr) & MSGF_INFLIGHT);
	assert_int_equal(write(p[1], "pipe", 4), 4);
	assert_int_equal(send(sv[1], "sock", 4, 0), 4);
	assert_int_equal(kp_waitdone(rp, &r.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &rf.hdr), 0);
	assert_int_equal(r.hdr.ms_result, 4);
	assert_memory_equal(pb, "pipe", 4);
	assert_int_equal(rf.hdr.ms_result, 4);
	assert_memory_equal(sb, "sock", 4);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Errors come back as the raw call's, through the reply port: a bad
 * descriptor, a bad buffer, a read-only descriptor written, and a
 * negative offset, which the ring cannot express (tried the plain way
 * when the others go).  A synchronous message still runs at once, and a
 * held message is in flight: sending it again is EBUSY.
 */
static void
errors_come_back_as_the_raw_calls(void **state)
{
	struct sys_pread bad_fd, bad_buf, neg, sync;
	struct sys_pwrite ro;
	char buf[BLK];
	int rofd;

	(void)state;
	assert_true((rofd = open("data", O_RDONLY)) >= 0);
	prep_pread(&bad_fd, 9999, buf, BLK, 0);
	prep_pread(&bad_buf, filefd, (void *)8, BLK, 0);
	prep_pwrite(&ro, rofd, "x", 1, 0);
	prep_async(&bad_fd.hdr, rp);
	prep_async(&bad_buf.hdr, rp);
	prep_async(&ro.hdr, rp);
	prep_pread(&neg, filefd, buf, BLK, -1);
	prep_async(&neg.hdr, rp);
	prep_pread(&sync, filefd, buf, BLK, 0);

	assert_int_equal(plugsys(), 0);
	assert_int_equal(sendsys(sysport(), &bad_fd.hdr, sizeof(bad_fd)), EASYNC);
	assert_int_equal(sendsys(sysport(), &bad_buf.hdr, sizeof(bad_buf)), EASYNC);
	assert_int_equal(sendsys(sysport(), &ro.hdr, sizeof(ro)), EASYNC);
	assert_int_equal(sendsys(sysport(), &neg.hdr, sizeof(neg)), EASYNC);
	assert_int_equal(sendsys(sysport(), &sync.hdr, sizeof(sync)), 0);
	assert_int_equal(sync.hdr.ms_result, BLK);
	assert_int_equal(sendsys(sysport(), &bad_fd.hdr, sizeof(bad_fd)), EBUSY);	/* held is in flight */
	assert_int_equal(unplugsys(), 0);

	assert_int_equal(waitsys(rp, &bad_fd.hdr), RAWERR(pread(9999, buf, BLK, 0)));
	assert_int_equal(bad_fd.hdr.ms_result, -1);
	assert_int_equal(waitsys(rp, &bad_buf.hdr), EFAULT);
	assert_int_equal(bad_buf.hdr.ms_result, -1);
	assert_int_equal(waitsys(rp, &ro.hdr), RAWERR(pwrite(rofd, "x", 1, 0)));
	assert_int_equal(ro.hdr.ms_result, -1);
	assert_int_equal(waitsys(rp, &neg.hdr), RAWERR(pread(filefd, buf, BLK, -1)));
	assert_int_equal(neg.hdr.ms_result, -1);
	assert_null(getport(rp));
	close(rofd);
}

/* An aborted held message comes back ECANCELED, the others as they ran. */
static void
abort_of_a_held_message(void **state)
{
	struct sys_pread m[3];
	char buf[3][BLK];
	int i;

	(void)state;
	assert_int_equal(plugsys(), 0);
	for (i = 0; i < 3; i++) {
		prep_block(&m[i], buf[i], i);
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
	}
	assert_int_equal(abortsys(&m[1].hdr), 0);
	assert_null(getport(rp));			/* still held */
	assert_int_equal(unplugsys(), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(waitsys(rp, &m[i].hdr), i == 1 ? ECANCELED : 0);
	assert_int_equal(m[1].hdr.ms_result, -1);
	assert_int_equal(m[0].hdr.ms_result, BLK);
	assert_int_equal(m[2].hdr.ms_result, BLK);
	assert_int_equal(abortsys(&m[1].hdr), EINVAL);	/* idle now */
	assert_null(getport(rp));
}

/*
 * Messages held across sysport_stop() come back ECANCELED, whether the
 * port is still stopped or running again by then; none is lost.
 */
static void
stop_cancels_held(void **state)
{
	struct sys_pread m[2];
	char buf[2][BLK];
	bool ring = *(bool *)*state;
	int pass, i;

	for (pass = 0; pass < 2; pass++) {
		assert_int_equal(plugsys(), 0);
		for (i = 0; i < 2; i++) {
			prep_block(&m[i], buf[i], i);
			assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
		}
		assert_int_equal(sysport_stop(), 0);
		if (pass == 1)
			restart(ring);
		assert_int_equal(unplugsys(), 0);
		for (i = 0; i < 2; i++) {
			assert_int_equal(waitsys(rp, &m[i].hdr), ECANCELED);
			assert_int_equal(m[i].hdr.ms_result, -1);
		}
		assert_null(getport(rp));
		if (pass == 0)
			restart(ring);
	}
}

/* A plugged thread that exits without unplugging still sends what it held. */
static void *
exit_plugged(void *arg)
{
	struct sys_pread *m = arg;
	static char buf[5][BLK];
	int i;

	if (plugsys() != 0)
		return "plugsys";
	for (i = 0; i < 5; i++) {
		prep_block(&m[i], buf[i], i);
		if (sendsys(sysport(), &m[i].hdr, sizeof(m[i])) != EASYNC)
			return "sendsys";
	}
	return NULL;
}

static void
thread_exit_sends_held(void **state)
{
	struct sys_pread m[5];
	pthread_t t;
	void *r;
	int i;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, exit_plugged, m), 0);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_null(r);
	for (i = 0; i < 5; i++) {
		assert_int_equal(kp_waitdone(rp, &m[i].hdr), 0);
		assert_int_equal(m[i].hdr.ms_result, BLK);
	}
	assert_null(getport(rp));
}

/*
 * fork() while holding: the child's copies are not sent (its unplugsys()
 * returns nothing to its copy of the port); the parent's go as usual.
 */
static void
fork_does_not_send_the_parents(void **state)
{
	struct sys_pread m[2];
	char buf[2][BLK];
	pid_t pid;
	int i, status;

	(void)state;
	assert_int_equal(plugsys(), 0);
	for (i = 0; i < 2; i++) {
		prep_block(&m[i], buf[i], i);
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
	}
	if ((pid = fork()) == 0) {
		struct sys_pread c;

		if (unplugsys() != 0)
			_exit(10);
		if (getport(rp) != NULL)
			_exit(11);
		if (plugsys() != 0)
			_exit(12);
		prep_block(&c, buf[0], 0);
		if (sendsys(sysport(), &c.hdr, sizeof(c)) != EOWNERDEAD)
			_exit(13);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(unplugsys(), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(waitsys(rp, &m[i].hdr), 0);
	assert_null(getport(rp));
}

/*
 * Upcalls that send while their thread is plugged: each upcall (run in
 * this thread, interrupting its sends at any point) holds preads of its
 * own in the same plug.  Every message, the thread's and the upcalls',
 * comes back once.
 */
#define UP_ROUNDS	150
#define UP_MAIN		40
#define UP_EACH		3

static struct sys_pread up_m[UP_ROUNDS * UP_EACH];
static char up_buf[UP_ROUNDS * UP_EACH][16];
static int up_sent, up_ran;
static bool up_held[UP_ROUNDS * UP_EACH];	/* EASYNC: it comes back to rp */

static void
up_sends(msgport_t *port, void *arg)
{
	msg_t *g;
	int i, r;

	(void)arg;
	while ((g = getport(port)) != NULL) {
		up_ran++;
		for (i = 0; i < UP_EACH && up_sent < UP_ROUNDS * UP_EACH; i++, up_sent++) {
			prep_pread(&up_m[up_sent], filefd, up_buf[up_sent], 16, 0);
			prep_async(&up_m[up_sent].hdr, rp);
			/* the thread may have unplugged by now: then it ran in place */
			r = sendsys(sysport(), &up_m[up_sent].hdr, sizeof(up_m[up_sent]));
			assert_true(r == EASYNC || r == 0);
			up_held[up_sent] = r == EASYNC;
		}
	}
}

static void
upcalls_that_send_while_plugged(void **state)
{
	static const struct timespec zero = { 0, 0 };
	struct sys_pread m[UP_MAIN];
	struct sys_nanosleep ns;
	char buf[UP_MAIN][16];
	msgport_t *up;
	int round, i, got = 0;
	time_t deadline;

	(void)state;
	up_sent = up_ran = 0;
	assert_non_null(up = mkport_upcall(up_sends, NULL));
	for (round = 0; round < UP_ROUNDS; round++) {
		/* a worker returns the nap to the upcall port while we send */
		prep_nanosleep(&ns, &zero, NULL);
		prep_async(&ns.hdr, up);
		assert_int_equal(plugsys(), 0);
		assert_int_equal(sendsys(sysport(), &ns.hdr, sizeof(ns)), EASYNC);
		for (i = 0; i < UP_MAIN; i++) {
			prep_pread(&m[i], filefd, buf[i], 16, 0);
			prep_async(&m[i].hdr, rp);
			assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
		}
		/* every other round the upcall surely comes while plugged */
		for (i = 0; i < 2; i++) {
			if (i == round % 2)
				assert_int_equal(unplugsys(), 0);
			deadline = time(NULL) + 30;	/* its upcall has run, or will soon */
			while (__atomic_load_n(&up_ran, __ATOMIC_ACQUIRE) <= round) {
				assert_true(time(NULL) < deadline);
				sched_yield();
			}
		}
		for (i = 0; i < UP_MAIN; i++)
			assert_int_equal(kp_waitdone(rp, &m[i].hdr), 0);
		/* the upcall's own: held, then sent by the waits below */
		for (; got < up_sent; got++) {
			if (up_held[got])
				assert_int_equal(kp_waitdone(rp, &up_m[got].hdr), 0);
			assert_int_equal(up_m[got].hdr.ms_result, 16);
		}
		assert_null(getport(rp));
	}
	assert_int_equal(up_ran, UP_ROUNDS);
	assert_int_equal(rmport(up), 0);
	for (i = round = 0; i < up_sent; i++)
		round += up_held[i];
	print_message("upcalls: %d of their %d messages held\n", round, up_sent);
}

/*
 * The storm: plugged threads each send thousands of preads, never more
 * than a window in flight, unplugging now and then; an aborter aborts
 * messages already sent, at random.  Every message sent is returned
 * once: done, with its bytes or ECANCELED.
 */
#define STORM_THREADS	3
#define STORM_SENDS	3000
#define STORM_WINDOW	48
#define STORM_LEN	16

struct storm {
	msgport_t	*rp;
	struct sys_pread m[STORM_SENDS];
	char		buf[STORM_SENDS][STORM_LEN];
	int		seen[STORM_SENDS];
	int		sent;			/* published: the aborter's range */
	int		returned, canceled;
	int		stop;
};

static void *
storm_sender(void *arg)
{
	struct storm *st = arg;
	int n = 0, i;
	msg_t *g;

	if (plugsys() != 0)
		return "plugsys";
	while (st->returned < STORM_SENDS) {
		while (n < STORM_SENDS && n - st->returned < STORM_WINDOW) {
			prep_pread(&st->m[n], filefd, st->buf[n], STORM_LEN, (off_t)(n % NBLK) * BLK);
			prep_async(&st->m[n].hdr, st->rp);
			if (sendsys(sysport(), &st->m[n].hdr, sizeof(st->m[n])) != EASYNC)
				return "not held";
			__atomic_store_n(&st->sent, ++n, __ATOMIC_RELEASE);
			if (n % 7 == 0 && (unplugsys() != 0 || plugsys() != 0))
				return "unplug, plug";
		}
		if (waitsys(st->rp, NULL) != 0)
			return "waitsys";
		while ((g = getport(st->rp)) != NULL) {
			i = (int)((struct sys_pread *)g - st->m);
			if (i < 0 || i >= n || st->seen[i]++ != 0)
				return "returned twice";
			if (!(kp_flags(g) & MSGF_DONE) || (kp_flags(g) & MSGF_INFLIGHT))
				return "not done";
			if (g->ms_error == ECANCELED)
				st->canceled++;
			else if (g->ms_error != 0 || g->ms_result != STORM_LEN ||
			    st->buf[i][0] != 'A' + i % NBLK % 26)
				return "bad result";
			st->returned++;
		}
	}
	if (unplugsys() != 0)
		return "unplugsys";
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *
storm_aborter(void *arg)
{
	struct storm *st = arg;
	unsigned seed = 1;
	int t, done, n;

	do {
		for (done = 0, t = 0; t < STORM_THREADS; t++) {
			done += __atomic_load_n(&st[t].stop, __ATOMIC_ACQUIRE);
			/* the newest are the likeliest to be held still */
			if ((n = __atomic_load_n(&st[t].sent, __ATOMIC_ACQUIRE)) > 0)
				(void)abortsys(&st[t].m[n - 1 - (int)(rand_r(&seed) %
				    (unsigned)(n < 8 ? n : 8))].hdr);
		}
		if (rand_r(&seed) % 4 == 0)
			sched_yield();
	} while (done < STORM_THREADS);
	return NULL;
}

static void
storm_each_returned_once(void **state)
{
	static struct storm st[STORM_THREADS];
	pthread_t t[STORM_THREADS], ab;
	void *r;
	int i, canceled = 0;

	(void)state;
	memset(st, 0, sizeof(st));
	for (i = 0; i < STORM_THREADS; i++) {
		assert_non_null(st[i].rp = mkport_queue());
		assert_int_equal(pthread_create(&t[i], NULL, storm_sender, &st[i]), 0);
	}
	assert_int_equal(pthread_create(&ab, NULL, storm_aborter, st), 0);
	for (i = 0; i < STORM_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		if (r != NULL)
			fail_msg("sender %d: %s", i, (char *)r);
		assert_int_equal(st[i].returned, STORM_SENDS);
		canceled += st[i].canceled;
	}
	assert_int_equal(pthread_join(ab, NULL), 0);
	for (i = 0; i < STORM_THREADS; i++)
		assert_int_equal(rmport(st[i].rp), 0);
	print_message("storm: %d of %d aborted in time\n", canceled, STORM_THREADS * STORM_SENDS);
}

static bool yes = true, no = false;

#define BOTH(fn) \
	cmocka_unit_test_prestate_setup_teardown(fn, with_ring, NULL, &yes), \
	cmocka_unit_test_prestate_setup_teardown(fn, without_ring, NULL, &no)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(held_preads_come_back_once),
		BOTH(a_thread_has_a_ring_and_no_descriptor),
		BOTH(waiting_sends_held),
		BOTH(plugs_nest),
		BOTH(every_ring_form_as_the_raw_call),
		BOTH(order_and_sigpipe_as_the_raw_calls),
		BOTH(would_block_goes_on),
		BOTH(errors_come_back_as_the_raw_calls),
		BOTH(abort_of_a_held_message),
		BOTH(stop_cancels_held),
		BOTH(thread_exit_sends_held),
		BOTH(fork_does_not_send_the_parents),
		BOTH(upcalls_that_send_while_plugged),
		BOTH(storm_each_returned_once),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
