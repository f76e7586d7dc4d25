/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slate - chapter 7 of the guide: a register machine of system calls.
 *
 * A slate records system call messages once, then runs them all with
 * one sendsys(), again and again.  Its registers carry one call's result
 * into a later call's argument: open() leaves the descriptor in r1,
 * read() and close() take it from there.  Guards make an entry
 * conditional: close() runs only if open() gave a descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "msgport.h"
#include "msgport-slate.h"
#include "guide.h"

enum { R_FD = 1, R_LEN = 2, NREGS = 3 };

int
main(void)
{
	char path[64] = "/proc/self/exe", buf[16];
	struct sys_slate sl;
	struct slate_entry ent[3];
	int64_t regs[NREGS];
	struct sys_openat op;
	struct sys_read rd;
	struct sys_close cl;

	printf("slate: open, read, close as one message\n");
	slate_init(&sl, ent, 3, regs, NREGS);
	/* r1 = open(path); stop the run if it fails */
	prep_open(&op, path, O_RDONLY, 0);
	slate_add(&sl, &op.hdr, sizeof(op), &(struct slate_opts){ .out = R_FD, .flags = SLATE_STOP });
	/* r2 = read(r1, buf, 16): argument 0 comes from r1 */
	prep_read(&rd, -1, buf, sizeof(buf));
	slate_add(&sl, &rd.hdr, sizeof(rd), &(struct slate_opts){
	    .out = R_LEN, .inarg = { 0 }, .inreg = { R_FD } });
	/* if (r1 >= 0) close(r1) */
	prep_close(&cl, -1);
	slate_add(&sl, &cl.hdr, sizeof(cl), &(struct slate_opts){
	    .inarg = { 0 }, .inreg = { R_FD }, .guard = SLATE_IFGE, .ga = R_FD, .gb = 0 });
	check(slate_check(&sl) == 0, "the slate is well-formed");

	check(sendsys(sysport(), &sl.hdr, sizeof(sl)) == 0, "one sendsys() ran three system calls");
	check(regs[R_FD] >= 0 && regs[R_LEN] == 16, "r1 held the descriptor, r2 the 16 bytes read");
	check(memcmp(buf + 1, "ELF", 3) == 0, "the bytes are our own ELF header");
	check(fcntl((int)regs[R_FD], F_GETFD) == -1, "close() ran: the descriptor is gone");

	/* The same slate, a file that is not there: open fails and stops the run. */
	strcpy(path, "/nonexistent/file");
	check(sendsys(sysport(), &sl.hdr, sizeof(sl)) == ENOENT, "run again: open() says ENOENT");
	check(sl.hdr.ms_result == 1, "and the run stopped after that one entry");
	return verdict("slate");
}
