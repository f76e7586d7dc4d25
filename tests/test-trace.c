/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the message-life trace.  A child (this program, run again
 * with MSGPORT_TRACE set) sends messages that take every road: inline
 * synchronous and asynchronous, the worker pool, the event loop, an
 * upcall port, flushsys(), an abort, a refusal, a plugged thread's
 * ring.  The parent reads the
 * trace back and checks each life step by step and thread by thread,
 * then renders it with tools/msgport-timeline.  Threads sending at once
 * each get every life told whole.  A bad trace file only costs a
 * warning.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kputil.h"

/* ---- the child: one message per road, in this order ---- */

static int upcalls;

static void
took(msgport_t *port, void *arg)
{
	(void)arg;
	if (getport(port) != NULL)
		upcalls++;
}

/* Does this process's own trace (MSGPORT_TRACE) hold a line with s yet? */
static bool
trace_says(const char *s)
{
	const char *path = getenv("MSGPORT_TRACE");
	char line[512];
	bool found = false;
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return true;		/* untraced: nothing to wait for */
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

static int
child(void)
{
	struct timespec long_ = { 30, 0 };
	struct sys_syscall sc, up, held;	/* the generic message: always the pool */
	struct sys_nanosleep ns;
	struct sys_getpid gp;
	struct sys_pread pr;
	struct sys_recvfrom rv;
	msgport_t *rp = mkport_queue(), *upp = mkport_upcall(took, NULL);
	msgport_t *crp = mkport_critupcall(took, NULL);
	char buf[64];
	int sv[2], fd;
	msg_t *m = NULL;

	/* 1: synchronous, inline */
	prep_getpid(&gp);
	if (sendsys(sysport(), &gp.hdr, sizeof(gp)) != 0)
		return 1;
	/* 2: asynchronous, finished inline (cached pread) */
	if ((fd = open("/proc/self/exe", O_RDONLY)) < 0)
		return 2;
	prep_pread(&pr, fd, buf, sizeof(buf), 0);
	prep_async(&pr.hdr, rp);
	if (sendsys(sysport(), &pr.hdr, sizeof(pr)) != 0)
		return 3;
	/* 3: the pool, taken by waitsys */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&sc.hdr, rp);
	if (sendsys(sysport(), &sc.hdr, sizeof(sc)) != EASYNC || waitsys(rp, &sc.hdr) != 0)
		return 4;
	/* 4: the event loop, taken by getport */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 5;
	prep_recv(&rv, sv[0], buf, sizeof(buf), 0);
	prep_async(&rv.hdr, rp);
	if (sendsys(sysport(), &rv.hdr, sizeof(rv)) != EASYNC || write(sv[1], "x", 1) != 1)
		return 6;
	/* polled, not waited for: a waiting thread would run it itself (lent) */
	for (int i = 0; i < 20000 && (m = getport(rp)) == NULL; i++)
		usleep(1000);
	if (m != &rv.hdr)
		return 7;
	/* 5: an upcall port */
	prep_syscall(&up, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&up.hdr, upp);
	if (sendsys(sysport(), &up.hdr, sizeof(up)) != EASYNC)
		return 8;
	while (upcalls < 1)
		usleep(1000);
	/* 6: a critical-section upcall port, delivered by flushsys() */
	crit_enter();
	prep_syscall(&held, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&held.hdr, crp);
	if (sendsys(sysport(), &held.hdr, sizeof(held)) != EASYNC)
		return 9;
	while (!msgdone(&held.hdr))	/* not waitsys(): it would take it */
		usleep(1000);
	/* its upcall signal has come, and been held: the trace says so */
	for (int i = 0; i < 10000 && !trace_says(" hold msg=0x0 "); i++)
		usleep(1000);
	if (flushsys() != 1 || upcalls != 2)
		return 10;
	crit_exit();
	/* 7: aborted while it sleeps, a timer of the event loop */
	prep_nanosleep(&ns, &long_, NULL);
	prep_async(&ns.hdr, rp);
	if (sendsys(sysport(), &ns.hdr, sizeof(ns)) != EASYNC || abortsys(&ns.hdr) != 0 ||
	    waitsys(rp, &ns.hdr) != ECANCELED)
		return 11;
	/* 8: refused: the wrong size */
	prep_getpid(&gp);
	prep_async(&gp.hdr, rp);
	if (sendsys(sysport(), &gp.hdr, sizeof(gp) + 8) != EINVAL)
		return 12;
	/* 9: held by a plugged thread, tried in its ring, taken by waitsys */
	prep_pread(&pr, fd, buf, sizeof(buf), 0);
	prep_async(&pr.hdr, rp);
	if (plugsys() != 0 || sendsys(sysport(), &pr.hdr, sizeof(pr)) != EASYNC ||
	    waitsys(rp, &pr.hdr) != 0 || unplugsys() != 0)
		return 14;
	/* 10: no reply port, waited for alone: waitsys(NULL, msg) */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&sc.hdr, NULL);
	if (sendsys(sysport(), &sc.hdr, sizeof(sc)) != EASYNC || waitsys(NULL, &sc.hdr) != 0)
		return 15;
	/* 11: a timer every millisecond, held 20 ms (occurrences owed), handed back, aborted;
	   its first expiry is late enough that the waiter is surely asleep by then
	   (a tick due before waitsys() is returned by the timer thread: return@o) */
	struct timespec ms = { 0, 1000000 }, first = { 0, 500000000 }, hold = { 0, 20000000 };
	struct sys_timer tm;

	prep_timer(&tm, CLOCK_MONOTONIC, 0, &first, &ms, rp);
	if (sendsys(sysport(), &tm.hdr, sizeof(tm)) != EASYNC || waitsys(rp, &tm.hdr) != 0)
		return 16;
	nanosleep(&hold, NULL);
	if (rearmsys(&tm.hdr) != 0 || waitsys(rp, &tm.hdr) != 0 || abortsys(&tm.hdr) != 0)
		return 17;
	while (!(msgflags(&tm.hdr) & MSGF_FINAL))	/* the last return says ECANCELED */
		if (rearmsys(&tm.hdr) != 0 || (waitsys(rp, &tm.hdr) != 0 &&
		    !(msgflags(&tm.hdr) & MSGF_FINAL)))
			return 18;
	if (tm.hdr.ms_error != ECANCELED)
		return 19;
	close(fd), close(sv[0]), close(sv[1]);
	return rmport(rp) || rmport(upp) || rmport(crp) ? 13 : 0;
}

/* Threads sending at once, each its own messages: pool and inline. */
enum { STORM_THREADS = 4, STORM_MSGS = 300 };

static void *
storm_thread(void *arg)
{
	msgport_t *rp = mkport_queue();
	struct sys_syscall ns;
	struct sys_getpid gp;
	int i, bad = 0;

	(void)arg;
	for (i = 0; i < STORM_MSGS; i++) {
		if (i % 3 == 0) {
			prep_getpid(&gp);
			prep_async(&gp.hdr, rp);
			bad |= sendsys(sysport(), &gp.hdr, sizeof(gp)) != 0;
			continue;
		}
		prep_syscall(&ns, SYS_getppid, 0, 0, 0, 0, 0, 0);
		prep_async(&ns.hdr, rp);
		bad |= sendsys(sysport(), &ns.hdr, sizeof(ns)) != EASYNC;
		bad |= waitsys(rp, &ns.hdr) != 0;
	}
	bad |= rmport(rp) != 0;
	return bad ? (void *)1 : NULL;
}

static int
storm(void)
{
	pthread_t t[STORM_THREADS];
	void *r;
	int i, bad = 0;

	for (i = 0; i < STORM_THREADS; i++)
		if (pthread_create(&t[i], NULL, storm_thread, NULL) != 0)
			return 1;
	for (i = 0; i < STORM_THREADS; i++) {
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	return bad;
}

/* ---- the parent ---- */

static char trace[300], timeline[PATH_MAX];

/* Run the child with MSGPORT_TRACE=value (NULL: unset); its exit status. */
static int
run_child_as(const char *role, const char *value, char *err, size_t errlen)
{
	int pipefd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		if (value != NULL)
			setenv("MSGPORT_TRACE", value, 1);
		else
			unsetenv("MSGPORT_TRACE");
		execl("/proc/self/exe", "test-trace", role, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], err + got, errlen - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
run_child(const char *value, char *err, size_t errlen)
{
	return run_child_as("child", value, err, errlen);
}

/* A life as the trace tells it: "what/how@T" steps, T 's' (the sender) or 'o' (another thread). */
struct life {
	char	cmd[32];
	char	steps[512];
	char	port[48];	/* the port it was returned to */
	long	sender;
};

#define MAXLIVES 4096
static struct life lives[MAXLIVES];
static int nlives;

/* The threads' names ("name" lines), and the names of the threads that ran a call where. */
#define MAXNAMES 64
static struct { long tid; char name[32]; } names[MAXNAMES];
static int nnames;
static char ran_by_pool[32], ran_by_loop[32], owed_by[32];

static const char *
name_of(long tid)
{
	int i;

	for (i = nnames - 1; i >= 0; i--)
		if (names[i].tid == tid)
			return names[i].name;
	return "";
}

static const char *
field(const char *line, const char *key, char *out, size_t len)
{
	const char *p = strstr(line, key);
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return out;
	p += strlen(key);
	n = strcspn(p, " \n");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
	return out;
}

static void
read_trace(void)
{
	static char addr[MAXLIVES][32];
	char line[512], what[32], msg[32], how[32], cmd[48], port[48];
	int i, k;
	long ns, tid;
	FILE *f = fopen(trace, "r");

	assert_non_null(f);
	nlives = nnames = 0;
	ran_by_pool[0] = ran_by_loop[0] = owed_by[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_int_equal(sscanf(line, "%ld %ld %31s", &ns, &tid, what), 3);
		if (strcmp(what, "name") == 0) {
			assert_true(nnames < MAXNAMES);
			names[nnames].tid = tid;
			field(line, " name=", names[nnames++].name, sizeof(names[0].name));
			continue;
		}
		/* every thread says its name before its first step */
		assert_string_not_equal(name_of(tid), "");
		field(line, " msg=", msg, sizeof(msg));
		field(line, " how=", how, sizeof(how));
		field(line, " cmd=", cmd, sizeof(cmd));
		field(line, " port=", port, sizeof(port));
		port[strcspn(port, "/")] = '\0';
		/* a port's upcalls held back: a step of the life last returned there */
		if (strcmp(what, "hold") == 0 && strcmp(msg, "0x0") == 0) {
			for (k = nlives - 1; k >= 0 && strcmp(lives[k].port, port) != 0; k--)
				;
			assert_true(k >= 0);
			snprintf(lives[k].steps + strlen(lives[k].steps),
			    sizeof(lives[k].steps) - strlen(lives[k].steps), " hold/%s@%c", how,
			    tid == lives[k].sender ? 's' : 'o');
			continue;
		}
		/* an address is reused: a step belongs to its newest life */
		for (k = -1, i = 0; i < nlives; i++)
			if (strcmp(addr[i], msg) == 0)
				k = i;
		if (strcmp(what, "send") == 0 || k < 0) {
			assert_true(nlives < MAXLIVES);
			k = nlives++;
			snprintf(addr[k], sizeof(addr[k]), "%s", msg);
			memset(&lives[k], 0, sizeof(lives[k]));
			lives[k].sender = tid;
		}
		if (strcmp(what, "run") == 0 && strcmp(how, "pool") == 0)
			snprintf(ran_by_pool, sizeof(ran_by_pool), "%s", name_of(tid));
		if (strcmp(what, "run") == 0 && strcmp(how, "loop") == 0)
			snprintf(ran_by_loop, sizeof(ran_by_loop), "%s", name_of(tid));
		/* the timer thread's owe steps (a thread waiting for the timer
		   itself may owe one too, as it collects the ticks) */
		if (strcmp(what, "owe") == 0 && owed_by[0] == '\0' &&
		    strcmp(name_of(tid), "mp-timer") == 0)
			snprintf(owed_by, sizeof(owed_by), "%s", name_of(tid));
		if (strcmp(what, "return") == 0)
			snprintf(lives[k].port, sizeof(lives[k].port), "%s", port);
		if (strchr(cmd, '/') != NULL)
			snprintf(lives[k].cmd, sizeof(lives[k].cmd), "%s", strchr(cmd, '/') + 1);
		snprintf(lives[k].steps + strlen(lives[k].steps),
		    sizeof(lives[k].steps) - strlen(lives[k].steps), "%s%s%s%s@%c",
		    lives[k].steps[0] ? " " : "", what, how[0] ? "/" : "", how,
		    tid == lives[k].sender ? 's' : 'o');
	}
	fclose(f);
}

static int
setup(void **state)
{
	kp_group_tmpdir(state);
	snprintf(trace, sizeof(trace), "%s/trace", kp_dir);
	return 0;
}

static void
every_road_is_traced_step_by_step(void **state)
{
	static const struct {
		const char *cmd, *steps;
	} expect[] = {
		{ "getpid", "send/sync@s inline@s" },
		{ "pread", "send/async@s inline@s" },
		{ "syscall", "send/async@s pool/queued@s run/pool@o return/port@o take/waitsys@s" },
		{ "recvfrom", "send/async@s loop/waiting@s run/loop@o return/port@o take/getport@s" },
		{ "syscall", "send/async@s pool/queued@s run/pool@o return/port@o take/upcall@s" },
		{ "syscall", "send/async@s pool/queued@s run/pool@o return/port@o hold/crit@s take/flushsys@s" },
		{ "nanosleep", "send/async@s loop/waiting@s" },
		{ "", "send/async@s refuse@s" },
		{ "pread", "send/async@s hold/plug@s run/ring@s return/port@s take/waitsys@s" },
		{ "syscall", "send/async@s pool/queued@s run/pool@o return/done@o wait/done@s" },
		/* its waiter sleeps until the expiry and returns it itself (timer.c) */
		{ "timer", "send/async@s return/occurrence@s" },
	};
	/* without io_uring (a seccomp filter, say) the held one is tried alone */
	static const char plugged_alone[] =
	    "send/async@s hold/plug@s run/plug@s return/port@s take/waitsys@s";
	char err[4096];
	size_t i;

	(void)state;
	assert_int_equal(run_child(trace, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	read_trace();
	/* the library's own threads carry their names */
	assert_memory_equal(ran_by_pool, "mp-pool-", strlen("mp-pool-"));
	assert_string_equal(ran_by_loop, "mp-evloop");
	assert_string_equal(owed_by, "mp-timer");
	assert_int_equal(nlives, (int)(sizeof(expect) / sizeof(expect[0])));
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		if (i == 6) {
			/* aborted while it sleeps: returned once, taken by waitsys */
			const char *ret = strstr(lives[i].steps, " return/port@");

			assert_ptr_equal(strstr(lives[i].steps, expect[i].steps), lives[i].steps);
			assert_non_null(strstr(lives[i].steps, " abort@s"));
			assert_non_null(ret);
			assert_null(strstr(ret + 1, " return"));
			assert_string_equal(ret + strlen(ret) - strlen(" take/waitsys@s"),
			    " take/waitsys@s");
		} else if (i == 10) {
			/* each tick told; the ticks while the user held it owed, then the last return */
			assert_ptr_equal(strstr(lives[i].steps, expect[i].steps), lives[i].steps);
			assert_non_null(strstr(lives[i].steps, " take/waitsys@s owe/held@"));
			assert_non_null(strstr(strstr(lives[i].steps, " take/waitsys@s"), " owe/held@o"));
			assert_non_null(strstr(lives[i].steps, " abort@s"));
			assert_string_equal(lives[i].steps + strlen(lives[i].steps) -
			    strlen(" take/waitsys@s"), " take/waitsys@s");
		} else if (i == 8 && strcmp(lives[i].steps, plugged_alone) == 0) {
			print_message("no io_uring here: the plugged road was tried alone\n");
		} else {
			assert_string_equal(lives[i].steps, expect[i].steps);
		}
		assert_string_equal(lives[i].cmd, expect[i].cmd);
	}
}

static void
a_trace_file_that_cannot_be_opened_is_a_warning(void **state)
{
	char err[4096];

	(void)state;
	assert_int_equal(run_child("/nonexistent/dir/trace", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "MSGPORT_TRACE"));
	assert_int_equal(run_child(NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

/* Many threads at once: every life whole, none lost, none returned twice. */
static void
a_storm_of_lives_each_told_whole(void **state)
{
	char err[4096];
	const char *ret;
	int i, pool = 0;

	(void)state;
	assert_int_equal(run_child_as("storm", trace, err, sizeof(err)), 0);
	read_trace();
	assert_int_equal(nlives, STORM_THREADS * STORM_MSGS);
	for (i = 0; i < nlives; i++) {
		if (strcmp(lives[i].cmd, "getpid") == 0) {
			assert_string_equal(lives[i].steps, "send/async@s inline@s");
			continue;
		}
		assert_string_equal(lives[i].cmd, "syscall");
		assert_ptr_equal(strstr(lives[i].steps, "send/async@s pool/queued@s run/pool@o"),
		    lives[i].steps);
		assert_non_null(ret = strstr(lives[i].steps, " return/port@o"));
		assert_null(strstr(ret + 1, " return"));
		assert_string_equal(ret, " return/port@o take/waitsys@s");
		pool++;
	}
	assert_int_equal(pool, STORM_THREADS * (STORM_MSGS - STORM_MSGS / 3));
}

/* The renderer: one line per life (-l), a row per step, and valid-looking JSON (-c). */
static void
the_timeline_renders_every_life(void **state)
{
	char cmd[2 * PATH_MAX], line[1024], err[4096];
	int lines = 0, rows = 0, json = 0;
	FILE *p;

	(void)state;
	assert_int_equal(run_child(trace, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "sh %s -l %s", timeline, trace);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p) != NULL)
		lines += line[0] == '#';
	assert_int_equal(pclose(p), 0);
	assert_int_equal(lines, 11);

	snprintf(cmd, sizeof(cmd), "sh %s %s", timeline, trace);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p) != NULL)
		rows += strstr(line, "| #") != NULL;
	assert_int_equal(pclose(p), 0);
	read_trace();
	assert_true(rows >= 30);

	snprintf(cmd, sizeof(cmd), "sh %s -c %s", timeline, trace);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p) != NULL)
		json += strstr(line, "\"ph\":\"X\"") != NULL;
	assert_int_equal(pclose(p), 0);
	assert_int_equal(json, 11);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_road_is_traced_step_by_step),
		cmocka_unit_test(a_trace_file_that_cannot_be_opened_is_a_warning),
		cmocka_unit_test(a_storm_of_lives_each_told_whole),
		cmocka_unit_test(the_timeline_renders_every_life),
	};

	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	if (argc > 1 && strcmp(argv[1], "storm") == 0)
		return storm();
	snprintf(timeline, sizeof(timeline), "%s/tools/msgport-timeline", TOP_BUILDDIR);
	return cmocka_run_group_tests(tests, setup, kp_group_rmtree);
}
