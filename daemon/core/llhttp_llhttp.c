/* SPDX-License-Identifier: MIT */
/* Builds llhttp.c of the llhttp sources configure found (node-llhttp) in its
 * own convenience library, compiled with -w: generated code, not ours. */
#include "llhttp.c"
