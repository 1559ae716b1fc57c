/* SPDX-License-Identifier: MIT */
/* Builds http.c of the llhttp sources configure found (node-llhttp) in its
 * own convenience library, compiled with -w: generated code, not ours. */
#include "http.c"
