/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_FORWARDER_PROBE_H
#define EG_DAEMON_FORWARDER_PROBE_H

#include <stdio.h>

/* probe.c: "would this origin admit my certificate?" Connects to origin
 * `origin` of the configuration file `conf` with its client certificate,
 * sends GET / for its first host and writes what happened to out: the
 * connect or TLS failure with the alert the origin sent, or the HTTP
 * status and, for a verifier's 403, its reason code. Returns 0 when the
 * origin answered with a status below 400, 1 when it refused or failed,
 * 2 when the configuration or origin name is wrong. */
int egf_probe_origin(const char *conf, const char *origin, FILE *out);

#endif
