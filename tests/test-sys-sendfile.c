/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: sendfile as a message.  To a non-blocking socket whose
 * buffer is full, an asynchronous sendfile waits in the event loop and
 * completes once a reader makes room; a whole file goes out that way,
 * byte for byte.  To a blocking socket it runs in the pool, where
 * abortsys() cuts it short.  In a slate, registers feed its descriptors:
 * open, then sendfile from what open returned.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include "kputil.h"
#include "msgport-slate.h"

#define FILESIZE	(4 << 20)

static unsigned char want[FILESIZE], got[FILESIZE];

struct reader {
	int	fd;
	size_t	n;		/* bytes to read into got[] */
	size_t	skip;		/* bytes to read and drop first */
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned char junk[65536];
	size_t done = 0;
	ssize_t k;

	while (r->skip > 0 && (k = read(r->fd, junk, r->skip < sizeof(junk) ? r->skip :
	    sizeof(junk))) > 0)
		r->skip -= (size_t)k;
	while (done < r->n && (k = read(r->fd, got + done, r->n - done)) > 0)
		done += (size_t)k;
	r->n = done;
	return NULL;
}

/* A file of FILESIZE known bytes, open for reading. */
static int
make_file(void)
{
	size_t i;
	int fd;

	for (i = 0; i < FILESIZE; i++)
		want[i] = (unsigned char)(i * 7 + i / 4096);
	fd = open("data", O_CREAT | O_TRUNC | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, want, FILESIZE), FILESIZE);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Fill sock's send buffer to the last byte: the bytes written. */
static size_t
fill(int sock)
{
	static const unsigned char zero[65536];
	size_t n = 0, chunk;
	ssize_t k;

	for (chunk = sizeof(zero); chunk > 0; chunk /= 16) {
		while ((k = send(sock, zero, chunk, MSG_DONTWAIT)) > 0)
			n += (size_t)k;
		assert_int_equal(errno, EAGAIN);
	}
	return n;
}

static void
done_with(int sv[2], int fd, msgport_t *rp)
{
	assert_int_equal(close(sv[0]), 0);
	assert_int_equal(close(sv[1]), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(rmport(rp), 0);
}

static void
full_socket_waits_in_the_loop(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_sendfile sf;
	struct reader r;
	pthread_t t;
	off_t off = 0;
	int sv[2], fd = make_file(), r0, waited = 0;

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	r.fd = sv[1];
	r.n = FILESIZE;
	r.skip = fill(sv[0]);
	assert_int_equal(fcntl(sv[1], F_SETFL, 0), 0);	/* the reader blocks */
	/* full: the first one cannot go in place */
	while (off < FILESIZE) {
		prep_sendfile(&sf, sv[0], fd, &off, FILESIZE - (size_t)off);
		prep_async(&sf.hdr, rp);
		r0 = sendsys(sysport(), &sf.hdr, sizeof(sf));
		if (r0 == EASYNC) {
			if (waited++ == 0)
				assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
			r0 = kp_waitdone(rp, &sf.hdr);
		}
		assert_int_equal(r0, 0);
		assert_true(sf.hdr.ms_result > 0);
	}
	assert_true(waited > 0);
	assert_int_equal(off, FILESIZE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.n, FILESIZE);
	assert_memory_equal(got, want, FILESIZE);
	done_with(sv, fd, rp);
}

static void
blocking_socket_runs_in_the_pool_and_aborts(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_sendfile sf;
	int sv[2], fd = make_file();

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill(sv[0]);
	prep_sendfile(&sf, sv[0], fd, NULL, FILESIZE);
	prep_async(&sf.hdr, rp);
	assert_int_equal(sendsys(sysport(), &sf.hdr, sizeof(sf)), EASYNC);
	/* nobody reads: only the abort ends it */
	abortsys(&sf.hdr);
	assert_int_equal(kp_waitdone(rp, &sf.hdr), ECANCELED);
	assert_int_equal(sf.hdr.ms_result, -1);
	assert_true(msgflags(&sf.hdr) & MSGF_ABORTED);
	done_with(sv, fd, rp);
}

static void
slate_feeds_its_descriptors(void **s)
{
	struct slate_entry ent[4];
	int64_t regs[3];
	struct sys_slate sl;
	struct sys_openat op;
	struct sys_sendfile sf;
	struct sys_close cl;
	struct slate_opts o;
	int out, fd = make_file();
	off_t off = 4096;

	(void)s;
	close(fd);
	out = open("copy", O_CREAT | O_TRUNC | O_RDWR, 0644);
	assert_true(out >= 0);
	assert_int_equal(slate_init(&sl, ent, 4, regs, 3), 0);
	prep_open(&op, "data", O_RDONLY, 0);
	memset(&o, 0, sizeof(o));
	o.out = 1;
	assert_int_equal(slate_add(&sl, &op.hdr, sizeof(op), &o), 0);
	prep_sendfile(&sf, out, -1, &off, 8192);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 1;		/* in_fd */
	o.inreg[0] = 1;
	o.guard = SLATE_IFOK;
	o.ga = 0;
	assert_int_equal(slate_add(&sl, &sf.hdr, sizeof(sf), &o), 0);
	prep_close(&cl, -1);
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 0;
	o.inreg[0] = 1;
	o.guard = SLATE_IFOK;
	o.ga = 0;
	assert_int_equal(slate_add(&sl, &cl.hdr, sizeof(cl), &o), 0);
	/* a pointer slot is never fed */
	memset(&o, 0, sizeof(o));
	o.inarg[0] = 2;
	o.inreg[0] = 1;
	assert_int_equal(slate_add(&sl, &sf.hdr, sizeof(sf), &o), EINVAL);

	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(sf.hdr.ms_error, 0);
	assert_int_equal(sf.hdr.ms_result, 8192);
	assert_int_equal(cl.hdr.ms_error, 0);
	assert_int_equal(off, 4096 + 8192);
	assert_int_equal(pread(out, got, FILESIZE, 0), 8192);
	assert_memory_equal(got, want + 4096, 8192);
	close(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_socket_waits_in_the_loop),
		cmocka_unit_test(blocking_socket_runs_in_the_pool_and_aborts),
		cmocka_unit_test(slate_feeds_its_descriptors),
	};

	return cmocka_run_group_tests(tests, kp_group_tmpdir, kp_group_rmtree);
}
