/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sys_indirect.c - the generic indirect message: any system call by its
 * number and six arguments.  Nothing is known about it, so it is taken
 * to block: asynchronous ones go to the pool.
 */
#include "config.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "kport-internal.h"
#include "ksys-internal.h"

int
mp_krun_syscall(msg_t *msg)
{
	struct sys_syscall *a = (struct sys_syscall *)msg;

	return kret(msg, syscall(a->nr, a->args[0], a->args[1], a->args[2], a->args[3],
	    a->args[4], a->args[5]));
}
