/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guess-internal.h - predictive inline (guess.c): a KC_GUESS command runs
 * in its sender's thread while it has not been blocking.
 */
#ifndef GUESS_INTERNAL_H
#define GUESS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "systab-internal.h"

#pragma GCC visibility push(hidden)

void	mp_kguess_init(void);
bool	mp_kguess_inline(uint32_t cmd);
bool	mp_kguess_spread(void);
int	mp_kguess_run(msg_t *msg, const struct kcmd *kc);
void	mp_kguess_resync(void);

#pragma GCC visibility pop

#endif /* GUESS_INTERNAL_H */
