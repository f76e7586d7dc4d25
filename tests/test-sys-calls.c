/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every command of the system port, sent synchronously and
 * asynchronously, against real files, sockets, pipes and children; each
 * result checked against the raw system call doing the same thing on a
 * twin object.  The last test checks that no command was left out.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kputil.h"

static msgport_t *rp;

#define SEND(m, async) kp_send(&(m).hdr, sizeof(m), (async), rp)
/* Message and raw call agree on the errno and on the result. */
#define SAME(m, async, raw) do {					\
	errno = 0;							\
	long rr_ = (long)(raw);						\
	int re_ = rr_ < 0 ? errno : 0;					\
	assert_int_equal(SEND(m, async), re_);				\
	assert_int_equal((m).hdr.ms_error, re_);			\
	assert_int_equal((m).hdr.ms_result, rr_);			\
} while (0)
/* Message and raw call agree on the errno; results are checked apart. */
#define SAMEERR(m, async, raw) do {					\
	errno = 0;							\
	long rr_ = (long)(raw);						\
	int re_ = rr_ < 0 ? errno : 0;					\
	assert_int_equal(SEND(m, async), re_);				\
	if (re_ == 0)							\
		assert_true((m).hdr.ms_result >= 0);			\
} while (0)

static void
file_calls(int async)
{
	char dir[256], data[4096], buf[4096], rbuf[4096], dbuf[1024], rdbuf[1024];
	struct sys_mkdirat mk;
	struct sys_openat op;
	struct sys_write wr;
	struct sys_read rd;
	struct sys_pwrite pw;
	struct sys_pread pr;
	struct sys_readv rv;
	struct sys_writev wv;
	struct sys_lseek ls;
	struct sys_fstat fs;
	struct sys_fstatat sa;
	struct sys_fstatatv sv;
	struct sys_statx sx;
	struct sys_fsync sy;
	struct sys_ftruncate tr;
	struct sys_getdents64 gd;
	struct sys_renameat rn;
	struct sys_unlinkat ul;
	struct sys_close cl;
	struct sys_sendfile sf;
	struct stat st, rst;
	struct statx stx, rstx;
	struct iovec iov[2], riov[2];
	int fd, rfd, dfd, rdfd, cfd, rcfd, i;
	off_t off, roff;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	kp_tmpdir(dir, sizeof(dir));

	prep_mkdir(&mk, "m", 0755);
	SAME(mk, async, mkdir("r", 0755));
	prep_mkdir(&mk, "m", 0755);
	SAME(mk, async, mkdir("r", 0755));
	assert_int_equal(mk.hdr.ms_error, EEXIST);

	prep_open(&op, "m/f", O_CREAT | O_RDWR, 0644);
	SAMEERR(op, async, rfd = open("r/f", O_CREAT | O_RDWR, 0644));
	fd = (int)op.hdr.ms_result;
	prep_open(&op, "m/none", O_RDONLY, 0);
	SAME(op, async, open("r/none", O_RDONLY));
	assert_int_equal(op.hdr.ms_error, ENOENT);
	prep_openat(&op, AT_FDCWD, "m", O_RDONLY | O_DIRECTORY, 0);
	SAMEERR(op, async, rdfd = openat(AT_FDCWD, "r", O_RDONLY | O_DIRECTORY));
	dfd = (int)op.hdr.ms_result;

	prep_write(&wr, fd, data, sizeof(data));
	SAME(wr, async, write(rfd, data, sizeof(data)));
	prep_lseek(&ls, fd, 0, SEEK_CUR);
	SAME(ls, async, lseek(rfd, 0, SEEK_CUR));
	prep_pwrite(&pw, fd, "tail", 4, 4096);
	SAME(pw, async, pwrite(rfd, "tail", 4, 4096));
	prep_pread(&pr, fd, buf, sizeof(buf), 100);
	SAME(pr, async, pread(rfd, rbuf, sizeof(rbuf), 100));
	assert_memory_equal(buf, rbuf, (size_t)pr.hdr.ms_result);
	prep_lseek(&ls, fd, 10, SEEK_SET);
	SAME(ls, async, lseek(rfd, 10, SEEK_SET));
	prep_read(&rd, fd, buf, 64);
	SAME(rd, async, read(rfd, rbuf, 64));
	assert_memory_equal(buf, data + 10, 64);
	iov[0] = (struct iovec){ buf, 5 }, iov[1] = (struct iovec){ buf + 5, 7 };
	riov[0] = (struct iovec){ rbuf, 5 }, riov[1] = (struct iovec){ rbuf + 5, 7 };
	prep_readv(&rv, fd, iov, 2);
	SAME(rv, async, readv(rfd, riov, 2));
	assert_memory_equal(buf, rbuf, 12);
	prep_writev(&wv, fd, iov, 2);
	SAME(wv, async, writev(rfd, riov, 2));
	prep_read(&rd, -1, buf, 1);
	SAME(rd, async, read(-1, rbuf, 1));
	assert_int_equal(rd.hdr.ms_error, EBADF);

	prep_fstat(&fs, fd, &st);
	SAME(fs, async, fstat(rfd, &rst));
	assert_int_equal(st.st_size, rst.st_size);
	assert_int_equal(st.st_size, 4100);
	assert_int_equal(symlink("f", "m/l"), 0);
	assert_int_equal(symlink("f", "r/l"), 0);
	prep_stat(&sa, "m/l", &st);
	SAME(sa, async, stat("r/l", &rst));
	assert_true(S_ISREG(st.st_mode));
	prep_lstat(&sa, "m/l", &st);
	SAME(sa, async, lstat("r/l", &rst));
	assert_true(S_ISLNK(st.st_mode));
	prep_fstatat(&sa, dfd, "f", &st, 0);
	SAME(sa, async, fstatat(rdfd, "f", &rst, 0));
	assert_int_equal(st.st_size, rst.st_size);
	prep_fstatat(&sa, dfd, "nothing", &st, 0);
	SAME(sa, async, fstatat(rdfd, "nothing", &rst, 0));
	{
		const char *names[] = { "f", "l", "nothing" };
		struct stat stv[3], rstv;
		int errs[3];

		prep_fstatatv(&sv, dfd, names, stv, errs, 3, AT_SYMLINK_NOFOLLOW);
		assert_int_equal(SEND(sv, async), 0);
		assert_int_equal(sv.hdr.ms_result, 2);
		for (i = 0; i < 3; i++) {
			assert_int_equal(errs[i],
			    RAWERR(fstatat(rdfd, names[i], &rstv, AT_SYMLINK_NOFOLLOW)));
			if (errs[i] == 0) {
				assert_int_equal(stv[i].st_mode, rstv.st_mode);
				assert_int_equal(stv[i].st_size, rstv.st_size);
			}
		}
	}
	prep_statx(&sx, AT_FDCWD, "m/f", 0, STATX_SIZE, &stx);
	SAME(sx, async, statx(AT_FDCWD, "r/f", 0, STATX_SIZE, &rstx));
	assert_int_equal(stx.stx_size, rstx.stx_size);

	prep_fsync(&sy, fd);
	SAME(sy, async, fsync(rfd));
	prep_fdatasync(&sy, fd);
	SAME(sy, async, fdatasync(rfd));
	prep_fsync(&sy, -1);
	SAME(sy, async, fsync(-1));
	prep_ftruncate(&tr, fd, 100);
	SAME(tr, async, ftruncate(rfd, 100));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 100);

	/* sendfile into a file (a blocking out_fd: the pool), from an offset
	   and from the file position */
	cfd = open("m/copy", O_CREAT | O_RDWR, 0644);
	rcfd = open("r/copy", O_CREAT | O_RDWR, 0644);
	assert_true(cfd >= 0 && rcfd >= 0);
	off = roff = 10;
	prep_sendfile(&sf, cfd, fd, &off, 50);
	SAME(sf, async, sendfile(rcfd, rfd, &roff, 50));
	assert_int_equal(sf.hdr.ms_result, 50);
	assert_int_equal(off, 60);
	assert_int_equal(roff, 60);
	prep_lseek(&ls, fd, 0, SEEK_SET);
	SAME(ls, async, lseek(rfd, 0, SEEK_SET));
	prep_sendfile(&sf, cfd, fd, NULL, 1000);
	SAME(sf, async, sendfile(rcfd, rfd, NULL, 1000));
	assert_int_equal(sf.hdr.ms_result, 100);	/* what is left of the file */
	assert_int_equal(pread(cfd, buf, sizeof(buf), 0), 150);
	assert_int_equal(pread(fd, rbuf, 100, 0), 100);
	assert_memory_equal(buf, rbuf + 10, 50);
	assert_memory_equal(buf + 50, rbuf, 100);
	assert_int_equal(pread(rcfd, rbuf, sizeof(rbuf), 0), 150);
	assert_memory_equal(buf, rbuf, 150);
	prep_sendfile(&sf, cfd, -1, NULL, 1);
	SAME(sf, async, sendfile(rcfd, -1, NULL, 1));
	assert_int_equal(sf.hdr.ms_error, EBADF);
	assert_int_equal(close(cfd), 0);
	assert_int_equal(close(rcfd), 0);
	assert_int_equal(unlink("m/copy"), 0);
	assert_int_equal(unlink("r/copy"), 0);

	prep_getdents64(&gd, dfd, dbuf, sizeof(dbuf));
	SAME(gd, async, syscall(SYS_getdents64, rdfd, rdbuf, sizeof(rdbuf)));
	assert_true(gd.hdr.ms_result > 0);
	assert_int_equal(gd.eof, 1);		/* it all fit: the end was read too */
	prep_getdents64(&gd, dfd, dbuf, sizeof(dbuf));
	SAME(gd, async, syscall(SYS_getdents64, rdfd, rdbuf, sizeof(rdbuf)));
	assert_int_equal(gd.hdr.ms_result, 0);
	assert_int_equal(gd.eof, 1);

	prep_rename(&rn, "m/f", "m/g");
	SAME(rn, async, rename("r/f", "r/g"));
	prep_renameat(&rn, dfd, "f", dfd, "g");
	SAME(rn, async, renameat(rdfd, "f", rdfd, "g"));
	assert_int_equal(rn.hdr.ms_error, ENOENT);
	prep_unlink(&ul, "m/g");
	SAME(ul, async, unlink("r/g"));
	prep_unlink(&ul, "m/g");
	SAME(ul, async, unlink("r/g"));
	prep_unlinkat(&ul, dfd, "l", 0);
	SAME(ul, async, unlinkat(rdfd, "l", 0));

	prep_close(&cl, fd);
	SAME(cl, async, close(rfd));
	prep_close(&cl, fd);
	SAME(cl, async, close(rfd));
	assert_int_equal(cl.hdr.ms_error, EBADF);
	prep_close(&cl, dfd);
	SAME(cl, async, close(rdfd));
	prep_unlinkat(&ul, AT_FDCWD, "m", AT_REMOVEDIR);
	SAME(ul, async, unlinkat(AT_FDCWD, "r", AT_REMOVEDIR));
	kp_rmtree(dir);
}

static void
socket_calls(int async)
{
	struct sys_socket so;
	struct sys_bind bi;
	struct sys_listen li;
	struct sys_connect co;
	struct sys_accept4 ac;
	struct sys_sendto se;
	struct sys_recvfrom re;
	struct sys_sendmsg sm;
	struct sys_recvmsg rm;
	struct sys_shutdown sh;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in rsin = sin;
	socklen_t len = sizeof(sin);
	struct iovec iov = { NULL, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char buf[64], rbuf[64];
	int ls, rls, cs, rcs, as, ras, sv[2], rsv[2];

	prep_socket(&so, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SAMEERR(so, async, rls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	ls = (int)so.hdr.ms_result;
	prep_socket(&so, 12345, SOCK_STREAM, 0);
	SAME(so, async, socket(12345, SOCK_STREAM, 0));
	prep_bind(&bi, ls, (struct sockaddr *)&sin, sizeof(sin));
	SAME(bi, async, bind(rls, (struct sockaddr *)&rsin, sizeof(rsin)));
	prep_bind(&bi, ls, (struct sockaddr *)&sin, sizeof(sin));
	SAME(bi, async, bind(rls, (struct sockaddr *)&rsin, sizeof(rsin)));
	assert_int_equal(bi.hdr.ms_error, EINVAL);
	prep_listen(&li, ls, 8);
	SAME(li, async, listen(rls, 8));
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	len = sizeof(rsin);
	assert_int_equal(getsockname(rls, (struct sockaddr *)&rsin, &len), 0);

	cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rcs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	prep_connect(&co, cs, (struct sockaddr *)&sin, sizeof(sin));
	SAME(co, async, connect(rcs, (struct sockaddr *)&rsin, sizeof(rsin)));
	prep_accept4(&ac, ls, NULL, NULL, SOCK_CLOEXEC);
	SAMEERR(ac, async, ras = accept4(rls, NULL, NULL, SOCK_CLOEXEC));
	as = (int)ac.hdr.ms_result;
	prep_accept4(&ac, -1, NULL, NULL, 0);
	SAME(ac, async, accept4(-1, NULL, NULL, 0));

	prep_send(&se, cs, "ping", 4, 0);
	SAME(se, async, send(rcs, "ping", 4, 0));
	prep_recv(&re, as, buf, sizeof(buf), 0);
	SAME(re, async, recv(ras, rbuf, sizeof(rbuf), 0));
	assert_memory_equal(buf, "ping", 4);
	prep_sendto(&se, as, "pong", 4, 0, NULL, 0);
	SAME(se, async, sendto(ras, "pong", 4, 0, NULL, 0));
	len = sizeof(sin);
	prep_recvfrom(&re, cs, buf, sizeof(buf), 0, NULL, NULL);
	SAME(re, async, recvfrom(rcs, rbuf, sizeof(rbuf), 0, NULL, NULL));
	assert_memory_equal(buf, "pong", 4);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, rsv), 0);
	iov = (struct iovec){ "message", 7 };
	prep_sendmsg(&sm, sv[0], &mh, 0);
	SAME(sm, async, sendmsg(rsv[0], &mh, 0));
	iov = (struct iovec){ buf, sizeof(buf) };
	prep_recvmsg(&rm, sv[1], &mh, 0);
	memset(buf, 0, sizeof(buf));
	{
		struct iovec riov = { rbuf, sizeof(rbuf) };
		struct msghdr rmh = { .msg_iov = &riov, .msg_iovlen = 1 };

		SAME(rm, async, recvmsg(rsv[1], &rmh, 0));
	}
	assert_memory_equal(buf, "message", 7);

	prep_shutdown(&sh, sv[0], SHUT_WR);
	SAME(sh, async, shutdown(rsv[0], SHUT_WR));
	prep_recv(&re, sv[1], buf, sizeof(buf), 0);
	SAME(re, async, recv(rsv[1], rbuf, sizeof(rbuf), 0));
	assert_int_equal(re.hdr.ms_result, 0);		/* end of file */
	prep_shutdown(&sh, -1, SHUT_WR);
	SAME(sh, async, shutdown(-1, SHUT_WR));

	close(ls), close(rls), close(cs), close(rcs), close(as), close(ras);
	close(sv[0]), close(sv[1]), close(rsv[0]), close(rsv[1]);
}

static void
proc_calls(int async)
{
	struct sys_getpid gp;
	struct sys_kill ki;
	struct sys_waitpid wp;
	struct sys_poll po;
	struct sys_nanosleep ns;
	struct sys_syscall sc;
	struct timespec ms = { 0, 1000000 }, bad = { 0, 2000000000L };
	struct pollfd pfd, rpfd;
	int status = 0, rstatus = 0, p[2];
	pid_t child, rchild;

	prep_getpid(&gp);
	SAME(gp, async, getpid());
	prep_kill(&ki, getpid(), 0);
	SAME(ki, async, kill(getpid(), 0));
	prep_kill(&ki, 0x7ffffff0, 0);
	SAME(ki, async, kill(0x7ffffff0, 0));

	if ((child = fork()) == 0)
		_exit(7);
	if ((rchild = fork()) == 0)
		_exit(7);
	prep_waitpid(&wp, child, &status, 0);
	SAMEERR(wp, async, waitpid(rchild, &rstatus, 0));
	assert_int_equal(wp.hdr.ms_result, child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	assert_int_equal(status, rstatus);
	prep_waitpid(&wp, child, &status, 0);
	SAME(wp, async, waitpid(rchild, &rstatus, 0));
	assert_int_equal(wp.hdr.ms_error, ECHILD);

	assert_int_equal(pipe(p), 0);
	pfd = rpfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	prep_poll(&po, &pfd, 1, 5);
	SAME(po, async, poll(&rpfd, 1, 5));		/* times out: 0 */
	assert_int_equal(write(p[1], "x", 1), 1);
	prep_poll(&po, &pfd, 1, 5);
	SAME(po, async, poll(&rpfd, 1, 5));
	assert_int_equal(pfd.revents, rpfd.revents);
	close(p[0]), close(p[1]);

	prep_nanosleep(&ns, &ms, NULL);
	SAME(ns, async, nanosleep(&ms, NULL));
	prep_nanosleep(&ns, &bad, NULL);
	SAME(ns, async, nanosleep(&bad, NULL));
	assert_int_equal(ns.hdr.ms_error, EINVAL);

	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	SAME(sc, async, getppid());
	prep_syscall(&sc, SYS_close, -1, 0, 0, 0, 0, 0);
	SAME(sc, async, close(-1));
	prep_syscall(&sc, 100000, 0, 0, 0, 0, 0, 0);
	SAME(sc, async, syscall(100000));
	assert_int_equal(sc.hdr.ms_error, ENOSYS);
}

static void files_sync(void **s) { (void)s; file_calls(0); }
static void files_async(void **s) { (void)s; file_calls(1); }
static void sockets_sync(void **s) { (void)s; socket_calls(0); }
static void sockets_async(void **s) { (void)s; socket_calls(1); }
static void procs_sync(void **s) { (void)s; proc_calls(0); }
static void procs_async(void **s) { (void)s; proc_calls(1); }

static void
every_command_was_exercised_both_ways(void **s)
{
	uint32_t cmd;

	(void)s;
	for (cmd = 1; cmd < KCMD_MAX; cmd++) {
		if (cmd == KCMD_SIGNAL || cmd == KCMD_TIMER)
			continue;	/* persistent: never synchronous (test-signal, test-timer) */
		if (cmd == KCMD_SLATE)
			continue;	/* a batch, not a call: the test-slate-* programs */
		if (!kp_was_seen(0, cmd) || !kp_was_seen(1, cmd))
			fail_msg("command %u not exercised both ways", cmd);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(files_sync),
		cmocka_unit_test(files_async),
		cmocka_unit_test(sockets_sync),
		cmocka_unit_test(sockets_async),
		cmocka_unit_test(procs_sync),
		cmocka_unit_test(procs_async),
		cmocka_unit_test(every_command_was_exercised_both_ways),
	};
	int r;

	rp = mkport_queue();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmport(rp);
	return r;
}
