/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * getpid - an outside program: built with only
 * `cc getpid.c $(pkg-config --cflags --libs msgport)` against the installed
 * packages, it sends a getpid message to the system port and checks that
 * the result is getpid().
 */
#include <msgport-sys.h>
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	struct sys_getpid m;
	int err;

	prep_getpid(&m);
	err = sendsys(sysport(), &m.hdr, sizeof(m));
	if (err != 0) {
		fprintf(stderr, "getpid: sendsys returned %d\n", err);
		return 1;
	}
	if (m.hdr.ms_result != (int64_t)getpid()) {
		fprintf(stderr, "getpid: message says %lld, getpid() %lld\n",
		    (long long)m.hdr.ms_result, (long long)getpid());
		return 1;
	}
	printf("getpid: %lld from the system port, as getpid() says\n",
	    (long long)m.hdr.ms_result);
	return 0;
}
