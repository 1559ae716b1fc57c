/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_ERROR_H
#define EDGEGUARD_ERROR_H

/*
 * Fallible libedgeguard functions return 0 on success or one of these
 * negative codes. Load paths additionally fill a caller buffer with a human
 * message of the form "file:line: key: what is wrong".
 */
#define EG_E_NOMEM	 (-1) /* allocation failed */
#define EG_E_INVAL	 (-2) /* argument violates the documented contract */
#define EG_E_CONFIG	 (-3) /* configuration is invalid (message says where) */
#define EG_E_IO		 (-4) /* file could not be read, written or reopened */
#define EG_E_TLS	 (-5) /* GnuTLS reported an unexpected failure */
#define EG_E_BAD_REQUEST (-6) /* request host/path unusable (answer 400) */
#define EG_E_PARSE	 (-7) /* input (PEM, DER, time, ...) does not parse */

/* Returns a static string describing `err`; never NULL. */
const char *eg_strerror(int err);

#endif
