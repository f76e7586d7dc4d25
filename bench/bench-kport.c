/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-kport - what a system call costs as a message, side by side with
 * the ways people make the same call without msgport.
 *
 *  sync getpid, sync pread (4 KiB, cached): a synchronous message to the
 *	system port against the raw system call.
 *  async pread, 1,000 in flight (4 KiB, cached): asynchronous messages
 *	against a plain pthread pool (mutex/condvar queues, as many threads
 *	as the system port has workers) and io_uring (liburing, submitted
 *	in batches of 32).
 *  async recv ping-pong over a socketpair, an echo thread at the far end:
 *	an asynchronous receive message against a bare libevent loop
 *	waiting for the same descriptor.
 *
 * bench-kport --callgrind runs each synchronous loop once between
 * callgrind dumps, for bench/callgrind-kport.sh to count instructions.
 */
#include "config.h"

#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/callgrind.h>
#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "bench.h"
#include "msgport.h"
#include "msgport-sys.h"

#define BLK	4096
#define NFLIGHT	1000
#define FILEBLKS 256

static int filefd;
static char bufs[NFLIGHT][BLK];

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* A cached file of FILEBLKS blocks. */
static void
mkfile(void)
{
	char path[] = "/tmp/msgport-bench-XXXXXX", blk[BLK];
	int i;

	if ((filefd = mkstemp(path)) < 0)
		die("mkstemp");
	unlink(path);
	memset(blk, 'k', sizeof(blk));
	for (i = 0; i < FILEBLKS; i++)
		if (write(filefd, blk, sizeof(blk)) != sizeof(blk))
			die("write");
	fsync(filefd);
	for (i = 0; i < FILEBLKS; i++)		/* warm the cache */
		if (pread(filefd, blk, sizeof(blk), (off_t)i * BLK) != BLK)
			die("pread");
}

/* Synchronous calls. */

static void
msg_getpid(void *arg, long iters)
{
	struct sys_getpid m;
	msgport_t *sp = sysport();

	(void)arg;
	prep_getpid(&m);
	while (iters-- > 0)
		if (sendsys(sp, &m.hdr, sizeof(m)) != 0)
			die("sendsys getpid");
}

static void
raw_getpid(void *arg, long iters)
{
	(void)arg;
	while (iters-- > 0)
		if (syscall(SYS_getpid) < 0)
			die("getpid");
}

static void
msg_pread(void *arg, long iters)
{
	struct sys_pread m;
	msgport_t *sp = sysport();

	(void)arg;
	prep_pread(&m, filefd, bufs[0], BLK, 0);
	for (; iters > 0; iters--) {
		m.offset = (off_t)(iters % FILEBLKS) * BLK;
		if (sendsys(sp, &m.hdr, sizeof(m)) != 0 || m.hdr.ms_result != BLK)
			die("sendsys pread");
	}
}

static void
raw_pread(void *arg, long iters)
{
	(void)arg;
	for (; iters > 0; iters--)
		if (pread(filefd, bufs[0], BLK, (off_t)(iters % FILEBLKS) * BLK) != BLK)
			die("pread");
}

/* Asynchronous cached preads, NFLIGHT at a time. */

static struct sys_pread amsg[NFLIGHT];
static msgport_t *arport;

/* arg non-NULL: sent plugged (plugsys), tried KRING_MAX at a time */
static void
msg_apread(void *arg, long iters)
{
	msgport_t *sp = sysport();
	long done = 0;
	int i, n, owed;

	while (done < iters) {
		n = iters - done < NFLIGHT ? (int)(iters - done) : NFLIGHT;
		owed = 0;
		if (arg != NULL && plugsys() != 0)
			die("plugsys");
		for (i = 0; i < n; i++) {
			prep_pread(&amsg[i], filefd, bufs[i], BLK, (off_t)(i % FILEBLKS) * BLK);
			prep_async(&amsg[i].hdr, arport);
			switch (sendsys(sp, &amsg[i].hdr, sizeof(amsg[i]))) {
			case EASYNC:
				owed++;
				break;
			case 0:
				break;
			default:
				die("async pread");
			}
		}
		if (arg != NULL && unplugsys() != 0)
			die("unplugsys");
		while (owed > 0) {
			if (waitsys(arport, NULL) != 0)
				die("waitsys");
			while (getport(arport) != NULL)
				owed--;
		}
		done += n;
	}
}

/* The plain pthread pool: a job queue and a completion count. */
struct pjob {
	off_t	off;
	char	*buf;
};

static struct {
	pthread_mutex_t	lock;
	pthread_cond_t	work, done;
	struct pjob	jobs[NFLIGHT];
	int		head, n, finished, stop;
	pthread_t	threads[64];
	int		nthreads;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
	   .done = PTHREAD_COND_INITIALIZER };

static void *
pool_main(void *arg)
{
	struct pjob job;

	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (pool.n == 0 && !pool.stop)
			pthread_cond_wait(&pool.work, &pool.lock);
		if (pool.n == 0)
			break;
		job = pool.jobs[pool.head];
		pool.head = (pool.head + 1) % NFLIGHT;
		pool.n--;
		pthread_mutex_unlock(&pool.lock);
		if (pread(filefd, job.buf, BLK, job.off) != BLK)
			die("pool pread");
		pthread_mutex_lock(&pool.lock);
		pool.finished++;
		pthread_cond_signal(&pool.done);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

static void
pool_apread(void *arg, long iters)
{
	long done = 0;
	int i, n;

	(void)arg;
	while (done < iters) {
		n = iters - done < NFLIGHT ? (int)(iters - done) : NFLIGHT;
		pthread_mutex_lock(&pool.lock);
		pool.finished = 0;
		for (i = 0; i < n; i++) {
			pool.jobs[(pool.head + pool.n++) % NFLIGHT] =
			    (struct pjob){ (off_t)(i % FILEBLKS) * BLK, bufs[i] };
			pthread_cond_signal(&pool.work);
		}
		while (pool.finished < n)
			pthread_cond_wait(&pool.done, &pool.lock);
		pthread_mutex_unlock(&pool.lock);
		done += n;
	}
}

#ifdef HAVE_LIBURING
static struct io_uring ring;

static void
uring_apread(void *arg, long iters)
{
	struct io_uring_cqe *cqe;
	long done = 0;
	int i, n, got;

	(void)arg;
	while (done < iters) {
		n = iters - done < NFLIGHT ? (int)(iters - done) : NFLIGHT;
		for (i = 0; i < n; i++) {
			io_uring_prep_read(io_uring_get_sqe(&ring), filefd, bufs[i], BLK,
			    (uint64_t)(i % FILEBLKS) * BLK);
			if (i % 32 == 31 || i == n - 1)
				io_uring_submit(&ring);
		}
		for (got = 0; got < n; got++) {
			if (io_uring_wait_cqe(&ring, &cqe) != 0 || cqe->res != BLK)
				die("io_uring read");
			io_uring_cqe_seen(&ring, cqe);
		}
		done += n;
	}
}
#endif

/* Receive ping-pong: an echo thread at sv[1]. */
static int sv[2];

static void *
echo_main(void *arg)
{
	char c;

	(void)arg;
	while (read(sv[1], &c, 1) == 1)
		if (write(sv[1], &c, 1) != 1)
			break;
	return NULL;
}

static void
msg_pingpong(void *arg, long iters)
{
	msgport_t *sp = sysport();
	struct sys_recvfrom m;
	char c = 'p';
	int r;

	(void)arg;
	while (iters-- > 0) {
		if (write(sv[0], &c, 1) != 1)
			die("write");
		prep_recv(&m, sv[0], &c, 1, 0);
		prep_async(&m.hdr, arport);
		r = sendsys(sp, &m.hdr, sizeof(m));
		if (r == EASYNC)
			r = waitsys(arport, &m.hdr);
		if (r != 0 || m.hdr.ms_result != 1)
			die("recv message");
	}
}

static struct event_base *evb;

static void
ev_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	if (read(fd, arg, 1) != 1)
		die("read");
}

static void
ev_pingpong(void *arg, long iters)
{
	char c = 'p';

	(void)arg;
	while (iters-- > 0) {
		if (write(sv[0], &c, 1) != 1)
			die("write");
		event_base_once(evb, sv[0], EV_READ, ev_readable, &c, NULL);
		event_base_loop(evb, EVLOOP_ONCE);
	}
}

/* Instruction counts: each loop between two callgrind dumps. */
static int
callgrind(void)
{
	long n = 100000;

	msg_getpid(NULL, 1000), raw_getpid(NULL, 1000);
	CALLGRIND_ZERO_STATS;
	msg_getpid(NULL, n);
	CALLGRIND_DUMP_STATS_AT("sync-getpid-message 100000");
	raw_getpid(NULL, n);
	CALLGRIND_DUMP_STATS_AT("raw-getpid 100000");
	msg_pread(NULL, n);
	CALLGRIND_DUMP_STATS_AT("sync-pread-message 100000");
	raw_pread(NULL, n);
	CALLGRIND_DUMP_STATS_AT("raw-pread 100000");
	return 0;
}

int
main(int argc, char **argv)
{
	struct sysport_attr attr = { 0 };
	pthread_t echo;
	int i;

	mkfile();
	if (sysport_start(&attr) != 0 || (arport = mkport_queue()) == NULL)
		die("sysport");
	if (argc > 1 && strcmp(argv[1], "--callgrind") == 0)
		return callgrind();

	bench_compare("sync_getpid", "message", msg_getpid, NULL,
	    "raw syscall", raw_getpid, NULL, 2000000);
	bench_compare("sync_pread_4k", "message", msg_pread, NULL,
	    "raw syscall", raw_pread, NULL, 1000000);

	pool.nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (pool.nthreads < 2)
		pool.nthreads = 2;
	if (getenv("MSGPORT_WORKERS") != NULL)
		pool.nthreads = atoi(getenv("MSGPORT_WORKERS"));
	if (pool.nthreads < 1 || pool.nthreads > 64)
		pool.nthreads = 2;
	for (i = 0; i < pool.nthreads; i++)
		pthread_create(&pool.threads[i], NULL, pool_main, NULL);
	bench_compare("async_pread_1000_vs_pool", "messages", msg_apread, NULL,
	    "pthread pool", pool_apread, NULL, 200000);
	bench_compare("async_pread_1000_plugged_vs_pool", "plugged messages", msg_apread, "plugged",
	    "pthread pool", pool_apread, NULL, 200000);
#ifdef HAVE_LIBURING
	if (io_uring_queue_init(1024, &ring, 0) != 0)
		die("io_uring_queue_init");
	bench_compare("async_pread_1000_vs_io_uring", "messages", msg_apread, NULL,
	    "io_uring (batches of 32)", uring_apread, NULL, 200000);
	bench_compare("async_pread_1000_plugged_vs_io_uring", "plugged messages", msg_apread, "plugged",
	    "io_uring (batches of 32)", uring_apread, NULL, 200000);
	io_uring_queue_exit(&ring);
#endif
	pthread_mutex_lock(&pool.lock);
	pool.stop = 1;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || (evb = event_base_new()) == NULL)
		die("socketpair");
	pthread_create(&echo, NULL, echo_main, NULL);
	bench_compare("async_recv_pingpong", "messages", msg_pingpong, NULL,
	    "bare libevent loop", ev_pingpong, NULL, 20000);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(echo, NULL);
	event_base_free(evb);
	sysport_stop();
	return 0;
}
