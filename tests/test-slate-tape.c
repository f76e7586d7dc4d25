/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: tape recording (slate_record_begin/end, issue 19): code
 * nobody here wrote (glibc's stdio and dirent) recorded as it runs, then
 * replayed: new files byte for byte after the path buffer changed, a
 * decoy descriptor carrying a recycled number untouched, no descriptor
 * leaked; SLATE_RECORD_COPY for buffers freed after recording; classes;
 * signals, threads and fork while recording; bad input, a full tape and
 * a kernel without the feature (this program's prctl() fails it).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kputil.h"
#include "msgport-slate.h"

#if defined(__SANITIZE_THREAD__)
#define TAPE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TAPE_TSAN 1
#endif
#endif

#define NENT	256
#define NREGS	32

/* A recording's memory, all the user's. */
struct tape {
	struct sys_slate sl;
	struct slate_entry ent[NENT];
	int64_t regs[NREGS];
	struct sys_syscall msg[NENT];
	struct slate_tape tp;
	char arena[1 << 18];	/* glibc reads directories 32 KiB at a time */
};

static struct tape *
tape_new(unsigned nent, size_t arena)
{
	struct tape *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(slate_init(&t->sl, t->ent, nent, t->regs, NREGS), 0);
	t->tp.st_msg = t->msg;
	t->tp.st_nmsg = nent;
	t->tp.st_arena = t->arena;
	t->tp.st_arenasize = arena;
	return t;
}

/* Was system call nr recorded? */
static int
tape_count(const struct tape *t, long nr)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < t->sl.sl_n; i++)
		n += t->msg[i].nr == nr;
	return n;
}

static int
tape_find(const struct tape *t, long nr)
{
	uint32_t i;

	for (i = 0; i < t->sl.sl_n; i++)
		if (t->msg[i].nr == nr)
			return (int)i;
	return -1;
}

/* The library's own calls, and memory calls, never in a file tape. */
static void
tape_clean(const struct tape *t)
{
	static const long never[] = { SYS_prctl, SYS_rt_sigaction, SYS_rt_sigreturn,
	    SYS_process_vm_writev, SYS_process_vm_readv, SYS_mmap, SYS_munmap, SYS_brk,
	    SYS_futex, SYS_socket };
	size_t i;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		assert_int_equal(tape_count(t, never[i]), 0);
}

static void
check_file(const char *name, const char *text)
{
	char buf[512];
	ssize_t n;
	int fd = open(name, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(text));
	assert_memory_equal(buf, text, strlen(text));
}

static int
run(struct tape *t)
{
	return sendsys(sysport(), &t->sl.hdr, sizeof(t->sl));
}

/*
 * glibc's fopen/fputs/fclose, recorded live: the path and the stdio
 * buffer (the user's, setvbuf) are read again at every replay.
 */
static char path[256], vbuf[256];

static void
stdio_live(void **s)
{
	char dir[256], name[64], text[64], recorded[64];
	struct tape *t = tape_new(NENT, 0);
	int i, op, fd0, decoy, before;
	FILE *f;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	assert_non_null(sysport());
	strcpy(path, "first");

	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), 0);
	f = fopen(path, "w");
	setvbuf(f, vbuf, _IOFBF, sizeof(vbuf));
	fputs("recorded line\n", f);
	fclose(f);
	assert_int_equal(slate_record_end(&t->sl), 0);

	check_file("first", "recorded line\n");
	tape_clean(t);
	assert_int_equal(t->tp.st_nrec, t->sl.sl_n);
	assert_int_equal(t->tp.st_missed, 0);
	op = tape_find(t, SYS_openat);
	assert_true(op >= 0);
	fd0 = (int)t->msg[op].hdr.ms_result;
	assert_true(fd0 >= 0);
	assert_int_not_equal(t->ent[op].se_out, 0);	/* the descriptor is a register */
	assert_int_equal(tape_count(t, SYS_write), 1);
	assert_int_equal(t->ent[tape_find(t, SYS_write)].se_inreg[0], t->ent[op].se_out);
	assert_int_equal(t->ent[tape_find(t, SYS_close)].se_inreg[0], t->ent[op].se_out);

	/* a decoy takes the number the recording's file had */
	decoy = open("decoy", O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_int_equal(decoy, fd0);
	assert_int_equal(write(decoy, "decoy", 5), 5);
	before = kp_nentries("/proc/self/fd");
	strcpy(recorded, "recorded line\n");
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "replay-%d", i);
		snprintf(text, sizeof(text), "replay line %d\n", i);
		assert_int_equal(strlen(text), strlen(recorded));	/* the count is the recorded one */
		strcpy(path, name);
		memcpy(vbuf, text, strlen(text));
		assert_int_equal(run(t), 0);
		assert_int_equal(t->regs[t->ent[op].se_out], fd0 + 1);	/* a new descriptor */
		check_file(name, text);
	}
	assert_int_equal(kp_nentries("/proc/self/fd"), before);
	assert_int_equal(lseek(decoy, 0, SEEK_CUR), 5);
	close(decoy);
	check_file("decoy", "decoy");
	kp_rmtree(dir);
	free(t);
}

/* The same path with SLATE_RECORD_COPY and stdio's own buffer, freed by
   fclose(): the replay writes the snapshot, not freed memory. */
static void
stdio_copy(void **s)
{
	char dir[256];
	struct tape *t = tape_new(NENT, sizeof(t->arena));
	int i, before;
	FILE *f;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	strcpy(path, "copied");
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, SLATE_RECORD_COPY), 0);
	f = fopen(path, "w");
	fputs("a snapshot\n", f);
	fclose(f);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_true(t->tp.st_arenaused > 0);
	tape_clean(t);
	strcpy(path, "elsewhere");	/* copied: no effect */
	before = kp_nentries("/proc/self/fd");
	for (i = 0; i < 3; i++) {
		assert_int_equal(unlink("copied"), 0);
		assert_int_equal(run(t), 0);
		check_file("copied", "a snapshot\n");
	}
	assert_int_equal(access("elsewhere", F_OK), -1);
	assert_int_equal(kp_nentries("/proc/self/fd"), before);
	kp_rmtree(dir);
	free(t);
}

/* opendir/readdir/closedir with SLATE_RECORD_COPY: the DIR and its
   buffer are freed; the replay's getdents64 writes into the arena. */
static void
dirent_copy(void **s)
{
	char dir[256], *p;
	struct tape *t = tape_new(NENT, sizeof(t->arena));
	int i, gd, before, seen, n = 0;
	struct dirent *de;
	uint16_t reclen;
	DIR *d;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	kp_mkfile("alpha", "a");
	kp_mkfile("beta", "b");
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, SLATE_RECORD_COPY), 0);
	d = opendir(".");
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_int_equal(n, 4);
	tape_clean(t);
	gd = tape_find(t, SYS_getdents64);
	assert_true(gd >= 0);
	assert_true((char *)t->msg[gd].args[1] >= t->arena &&
	    (char *)t->msg[gd].args[1] < t->arena + sizeof(t->arena));
	kp_mkfile("gamma", "c");
	before = kp_nentries("/proc/self/fd");
	for (i = 0; i < 3; i++) {
		memset((void *)t->msg[gd].args[1], 0, (size_t)t->msg[gd].args[2]);
		assert_int_equal(run(t), 0);
		assert_true(t->msg[gd].hdr.ms_result > 0);
		/* the replay's listing, in the arena, has the new name */
		seen = 0;
		for (p = (char *)t->msg[gd].args[1]; p < (char *)t->msg[gd].args[1] +
		    t->msg[gd].hdr.ms_result; p += reclen) {
			memcpy(&reclen, p + offsetof(struct dirent64, d_reclen), sizeof(reclen));
			seen += strcmp(p + offsetof(struct dirent64, d_name), "gamma") == 0;
		}
		assert_int_equal(seen, 1);
	}
	assert_int_equal(kp_nentries("/proc/self/fd"), before);
	kp_rmtree(dir);
	free(t);
}

/* Classes: a file tape has no socket nor memory calls; a socket one has
   the socket, and the close that follows its descriptor. */
static void
classes(void **s)
{
	char dir[256];
	struct tape *t = tape_new(NENT, 0);
	void *mem;
	int sk, fd, cl;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), 0);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	free(malloc(1 << 20));
	fd = open("f", O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_true(sk >= 0 && fd >= 0 && mem != MAP_FAILED);
	tape_clean(t);
	assert_int_equal(tape_count(t, SYS_openat), 1);
	assert_int_equal(tape_count(t, SYS_close), 1);
	munmap(mem, 1 << 20);
	close(sk);
	free(t);

	t = tape_new(NENT, 0);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_SOCKET, 0), 0);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	fd = open("f", O_RDONLY);
	close(fd);
	close(sk);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_int_equal(tape_count(t, SYS_socket), 1);
	assert_int_equal(tape_count(t, SYS_openat), 0);
	assert_int_equal(tape_count(t, SYS_close), 1);	/* the socket's: it follows */
	cl = tape_find(t, SYS_close);
	assert_int_equal(t->ent[cl].se_inreg[0], t->ent[tape_find(t, SYS_socket)].se_out);
	assert_int_equal(run(t), 0);
	free(t);
	kp_rmtree(dir);
}

/* The library's own calls are never on the tape, whatever the classes:
   the recorder's, and those of messages the recorded code sends; a
   message given to slate_record_exec() is recorded as itself. */
static void
library_calls(void **s)
{
	char dir[256];
	struct tape *t = tape_new(NENT, 0);
	struct sys_getpid gp;
	struct sys_openat op;
	uint32_t i;
	int n = 0;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	assert_non_null(sysport());
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_ALL, 0), 0);
	prep_getpid(&gp);
	assert_int_equal(sendsys(sysport(), &gp.hdr, sizeof(gp)), 0);
	prep_open(&op, "made", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_int_equal(slate_record_exec(&t->sl, &op.hdr, sizeof(op), NULL), 0);
	close((int)op.hdr.ms_result);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_int_equal(gp.hdr.ms_result, getpid());
	assert_int_equal(tape_count(t, SYS_getpid), 0);
	assert_int_equal(tape_count(t, SYS_openat), 0);
	assert_int_equal(tape_count(t, SYS_process_vm_writev), 0);
	assert_int_equal(tape_count(t, SYS_prctl), 0);
	assert_int_equal(tape_count(t, SYS_rt_sigaction), 0);
	assert_int_equal(tape_count(t, SYS_close), 1);	/* the code's own */
	for (i = 0; i < t->sl.sl_n; i++)
		n += t->ent[i].se_msg == &op.hdr;
	assert_int_equal(n, 1);
	kp_rmtree(dir);
	free(t);
}

/* Signals while recording: a handler's calls are recorded where they
   ran; a full block of the mask (as pthread_create makes) keeps working. */
static int sigpipe_w = -1;

/* Writes 's' for SIGUSR1, 'k' for SIGUSR2. */
static void
on_usr1(int sig)
{
	assert_true(write(sigpipe_w, sig == SIGUSR1 ? "s" : "k", 1) == 1);
}

static void *
thread_main(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)access("from-thread", F_OK);
}

static void
signals_threads_fork(void **s)
{
	char dir[256], c;
	struct tape *t = tape_new(NENT, 0);
	struct sigaction sa;
	sigset_t all, old;
	pthread_t th;
	void *ret;
	int pfd[2], st;
	pid_t pid;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	assert_int_equal(pipe(pfd), 0);
	sigpipe_w = pfd[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);

	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE | SLATE_REC_PROCESS, 0), 0);
	raise(SIGUSR1);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(pthread_create(&th, NULL, thread_main, NULL), 0);
	assert_int_equal(pthread_join(th, &ret), 0);
	pid = fork();
	if (pid == 0)
		_exit(write(pfd[1], "c", 1) == 1 ? 7 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(slate_record_end(&t->sl), 0);

	assert_true(pid > 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	assert_int_equal((intptr_t)ret, -1);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(c, 's');
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(c, 'c');
	/* the handler's write and the wait are on the tape; the thread's
	   call, the clone and the fork, and sigreturn are not */
	assert_int_equal(tape_count(t, SYS_write), 1);
	assert_int_equal(t->msg[tape_find(t, SYS_write)].args[0], pfd[1]);
	assert_int_equal(tape_count(t, SYS_wait4), 1);
	assert_int_equal(tape_count(t, SYS_access), 0);
	assert_int_equal(tape_count(t, SYS_clone) + tape_count(t, SYS_clone3) +
	    tape_count(t, SYS_fork) + tape_count(t, SYS_rt_sigreturn), 0);
	close(pfd[0]);
	close(pfd[1]);
	signal(SIGUSR1, SIG_DFL);
	kp_rmtree(dir);
	free(t);
}

/* A handler that runs while a recorded call waits is recorded there,
   its calls first (they end first); the waiting call then completes. */
static void *
kicker(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	pthread_kill(*(pthread_t *)arg, SIGUSR2);
	return NULL;
}

static void
handler_during_call(void **s)
{
	struct tape *t = tape_new(NENT, 0);
	struct sigaction sa;
	pthread_t self = pthread_self(), th;
	int pfd[2], w, rd;
	char c = 0;

	(void)s;
#ifdef TAPE_TSAN
	/* TSan runs an asynchronous signal's handler at the thread's next
	   interceptor, and read() is not one it treats as blocking: the
	   handler meant to wake the read would never run, recording or not. */
	(void)t, (void)sa, (void)self, (void)th, (void)pfd, (void)w, (void)rd, (void)c, (void)kicker;
	free(t);
	skip();
#else
	assert_int_equal(pipe(pfd), 0);
	sigpipe_w = pfd[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, kicker, &self), 0);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), 0);
	assert_int_equal(read(pfd[0], &c, 1), 1);	/* woken by the handler's write */
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(c, 'k');
	w = tape_find(t, SYS_write);
	rd = tape_find(t, SYS_read);
	assert_true(w >= 0 && rd >= 0);
	assert_true(w < rd);
	assert_int_equal(t->msg[rd].hdr.ms_result, 1);
	signal(SIGUSR2, SIG_DFL);
	close(pfd[0]);
	close(pfd[1]);
	free(t);
#endif
}

/* posix_spawn (a vfork-like clone on its own stack, through system())
   and execve of the recording thread itself: both run as without it. */
static void
spawn_exec(void **s)
{
	struct tape *t = tape_new(NENT, 0);
	int st;
	pid_t pid;

	(void)s;
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_ALL, 0), 0);
	st = system("exit 5");
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	assert_int_equal(tape_count(t, SYS_clone) + tape_count(t, SYS_clone3) +
	    tape_count(t, SYS_vfork) + tape_count(t, SYS_execve), 0);

	pid = fork();
	if (pid == 0) {
		/* the child records, then becomes another program */
		if (slate_record_begin(&t->sl, &t->tp, SLATE_REC_ALL, 0) != 0)
			_exit(1);
		execl("/bin/sh", "sh", "-c", "exit 9", (char *)NULL);
		_exit(2);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 9);
	free(t);
}

/* Bad input, each a clear error; the recorded code stays correct. */
static void
badinput(void **s)
{
	char dir[256];
	struct tape *t = tape_new(NENT, 0), *u = tape_new(NENT, 0);
	int fd;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	assert_int_equal(slate_record_end(&t->sl), EINVAL);	/* never begun */
	assert_int_equal(slate_record_begin(NULL, &t->tp, SLATE_REC_FILE, 0), EFAULT);
	assert_int_equal(slate_record_begin(&t->sl, NULL, SLATE_REC_FILE, 0), EFAULT);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, 0, 0), EINVAL);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, 0x8000, 0), EINVAL);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0x80), EINVAL);

	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), 0);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), EBUSY);
	assert_int_equal(slate_record_begin(&u->sl, &u->tp, SLATE_REC_FILE, 0), EBUSY);
	assert_int_equal(slate_record_end(&u->sl), EINVAL);	/* not the one recording */
	fd = open("x", O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "ok", 2), 2);
	close(fd);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_int_equal(slate_record_end(&t->sl), EINVAL);	/* ended */
	assert_int_equal(tape_count(t, SYS_openat), 1);
	check_file("x", "ok");
	free(t);
	free(u);
	kp_rmtree(dir);
}

/* Out of room: entries, then the arena.  Recording stops with ENOSPC
   and the code goes on correctly. */
static void
full(void **s)
{
	char dir[256], name[32];
	struct tape *t = tape_new(3, 0);
	char *huge;
	int i, fd;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), 0);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fd = open(name, O_CREAT | O_WRONLY, 0644);
		assert_int_equal(write(fd, name, strlen(name)), (ssize_t)strlen(name));
		assert_int_equal(close(fd), 0);
	}
	assert_int_equal(slate_record_end(&t->sl), ENOSPC);
	assert_int_equal(t->sl.sl_n, 3);
	assert_int_equal(t->tp.st_missed, 12 - 3);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		check_file(name, name);
	}
	free(t);

	t = tape_new(NENT, 64);	/* a path copied, the data does not fit */
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, SLATE_RECORD_COPY), 0);
	fd = open("big", O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, dir, 200), 200);
	assert_int_equal(close(fd), 0);
	assert_int_equal(slate_record_end(&t->sl), ENOSPC);
	assert_int_equal(t->sl.sl_n, 1);
	assert_true(t->tp.st_missed >= 1);
	assert_int_equal(access("big", F_OK), 0);
	free(t);

	/* a buffer past SLATE_COPYMAX is not copied: it stays live */
	t = tape_new(NENT, 4096);
	huge = calloc(1, SLATE_COPYMAX + 1);
	assert_non_null(huge);
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, SLATE_RECORD_COPY), 0);
	fd = open("huge", O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, huge, SLATE_COPYMAX + 1), SLATE_COPYMAX + 1);
	assert_int_equal(close(fd), 0);
	assert_int_equal(slate_record_end(&t->sl), 0);
	assert_int_equal(t->msg[tape_find(t, SYS_write)].args[1], (long)huge);
	assert_true((char *)t->msg[tape_find(t, SYS_openat)].args[1] >= t->arena);
	free(huge);
	free(t);
	kp_rmtree(dir);
}

/*
 * A kernel without Syscall User Dispatch, simulated: the library's
 * prctl() is this program's, which fails that option as such a kernel
 * does (EINVAL).
 */
static int no_dispatch;

int
prctl(int option, ...)
{
	unsigned long a[4];
	va_list ap;
	int k;

	va_start(ap, option);
	for (k = 0; k < 4; k++)
		a[k] = va_arg(ap, unsigned long);
	va_end(ap);
	if (no_dispatch && option == PR_SET_SYSCALL_USER_DISPATCH) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_prctl, option, a[0], a[1], a[2], a[3]);
}

static void
nodispatch(void **s)
{
	char dir[256];
	struct tape *t = tape_new(NENT, 0);
	int fd;

	(void)s;
	kp_tmpdir(dir, sizeof(dir));
	no_dispatch = 1;
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), ENOSYS);
	assert_int_equal(slate_record_end(&t->sl), EINVAL);
	fd = open("y", O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "fine", 4), 4);
	close(fd);
	check_file("y", "fine");
	assert_int_equal(t->sl.sl_n, 0);
	no_dispatch = 0;
	assert_int_equal(slate_record_begin(&t->sl, &t->tp, SLATE_REC_FILE, 0), 0);
	assert_int_equal(slate_record_end(&t->sl), 0);
	free(t);
	kp_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stdio_live),
		cmocka_unit_test(stdio_copy),
		cmocka_unit_test(dirent_copy),
		cmocka_unit_test(classes),
		cmocka_unit_test(library_calls),
		cmocka_unit_test(signals_threads_fork),
		cmocka_unit_test(spawn_exec),
		cmocka_unit_test(handler_during_call),
		cmocka_unit_test(badinput),
		cmocka_unit_test(full),
		cmocka_unit_test(nodispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
