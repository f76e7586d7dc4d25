/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * version.c - the library's version, as msgport.h's macros say it.
 *
 * configure.ac's AC_INIT version and the header's MSGPORT_VERSION_*
 * are written in two places; this file does not build if they differ.
 */
#include "config.h"

#include "msgport.h"

_Static_assert(MSGPORT_VERSION_MAJOR == MSGPORT_CONFIGURED_MAJOR &&
    MSGPORT_VERSION_MINOR == MSGPORT_CONFIGURED_MINOR &&
    MSGPORT_VERSION_PATCH == MSGPORT_CONFIGURED_PATCH,
    "msgport.h's MSGPORT_VERSION_* and configure.ac's AC_INIT version differ");

/*
 * msgport_version
 *	The version of the library running, MSGPORT_VERSION's encoding:
 *	major << 16 | minor << 8 | patch.
 */
uint32_t
msgport_version(void)
{
	return MSGPORT_VERSION;
}
