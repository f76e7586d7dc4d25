/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kernel - chapter 6 of the guide: inside the emulated kernel.
 *
 * The system port runs real system calls carried by messages.  Where a
 * call runs depends on what it would do: one that cannot block runs
 * inline, in the sender's thread; a sleep or a read that would wait
 * waits in the event loop, holding no thread; a call the loop cannot
 * wait for goes to a worker thread of the pool; a plugged thread's
 * calls are held and go to the kernel together.  Run it with
 * MSGPORT_TRACE=FILE to see each road (chapter 6's picture).
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msgport.h"
#include "msgport-sys.h"
#include "guide.h"

int
main(void)
{
	msgport_t *q = mkport_queue();
	struct sys_getpid gp;
	struct sys_recvfrom rv;
	struct sys_syscall sc;
	struct sys_pread rd[2];
	char buf[2][8], in[8];
	int sv[2], fd, back = 0;

	if (q == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 1;
	printf("kernel: four roads through the emulated kernel\n");

	/* Inline: getpid() never blocks, so the sender's thread runs it. */
	prep_getpid(&gp);
	check(sendsys(sysport(), &gp.hdr, sizeof(gp)) == 0 && gp.hdr.ms_result == getpid(),
	    "inline: getpid() as a message, done when sendsys() returns");

	/* The event loop: a receive with nothing to read waits there. */
	prep_recv(&rv, sv[0], in, sizeof(in), 0);
	prep_async(&rv.hdr, q);
	check(sendsys(sysport(), &rv.hdr, sizeof(rv)) == EASYNC, "event loop: the receive waits, no thread held");
	check(write(sv[1], "hello", 5) == 5, "we write the other end");
	check(waitsys(q, &rv.hdr) == 0 && rv.hdr.ms_result == 5, "event loop: the receive is done, 5 bytes");

	/* The pool: a call the library knows nothing about goes to a worker. */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	prep_async(&sc.hdr, q);
	check(sendsys(sysport(), &sc.hdr, sizeof(sc)) == EASYNC, "pool: a generic system call is queued");
	check(waitsys(q, &sc.hdr) == 0 && sc.hdr.ms_result == getppid(), "pool: a worker ran getppid()");

	/* Plugged: reads held while plugged, sent together at unplugsys(). */
	fd = open("/proc/self/exe", O_RDONLY);
	plugsys();
	for (int i = 0; i < 2; i++) {
		prep_pread(&rd[i], fd, buf[i], sizeof(buf[i]), i * 8);
		prep_async(&rd[i].hdr, q);
		sendsys(sysport(), &rd[i].hdr, sizeof(rd[i]));
	}
	check(getport(q) == NULL, "plugged: nothing back before unplugsys()");
	unplugsys();
	for (int i = 0; i < 2; i++)
		back += waitsys(q, &rd[i].hdr) == 0 && rd[i].hdr.ms_result == 8;
	check(back == 2, "plugged: both reads went together and came back");
	check(buf[0][1] == 'E' && buf[0][2] == 'L' && buf[0][3] == 'F', "the first read holds the ELF magic");

	close(fd), close(sv[0]), close(sv[1]);
	rmport(q);
	return verdict("kernel");
}
