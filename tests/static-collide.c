/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * static-collide.c - a program with names of its own that the library's
 * internals once had too (pool_start, msg_send, kstate), linked with
 * -static against libmsgport.a by tests/test-static-link.sh: it must
 * link, and each side must get its own.  Exits 0 on success.
 */
#include <stdio.h>

#include "msgport.h"
#include "msgport-sys.h"

int kstate = 42;

int
pool_start(int n)
{
	return n + kstate;
}

int
msg_send(const char *s)
{
	return s[0];
}

int
main(void)
{
	struct sys_getpid m;
	int bad = 0;

	prep_getpid(&m);
	if (sendsys(sysport(), &m.hdr, sizeof(m)) != 0 || m.hdr.ms_result <= 0)
		bad = 1, fprintf(stderr, "static-collide: getpid message failed\n");
	if (pool_start(1) != 43 || msg_send("x") != 'x')
		bad = 1, fprintf(stderr, "static-collide: the program's own names are not its own\n");
	if (sysport_stop() != 0)
		bad = 1, fprintf(stderr, "static-collide: sysport_stop\n");
	return bad;
}
