#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Run the signals example in its self-driving mode: a child sends it
# SIGUSR1, three queued SIGRTMIN+1 with values, then SIGINT.
exec "${builddir:-.}/examples/signals/signals" --self-test
