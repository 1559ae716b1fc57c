/* SPDX-License-Identifier: MIT */
/* Builds api.c of the llhttp sources configure found (node-llhttp) in its
 * own convenience library, compiled with -w: generated code, not ours. */
#include "api.c"
