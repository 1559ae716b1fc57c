/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <edgeguard/error.h>

const char *eg_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case EG_E_NOMEM:
		return "out of memory";
	case EG_E_INVAL:
		return "invalid argument";
	case EG_E_CONFIG:
		return "invalid configuration";
	case EG_E_IO:
		return "input/output error";
	case EG_E_TLS:
		return "TLS library error";
	case EG_E_BAD_REQUEST:
		return "request host or path cannot be used";
	case EG_E_PARSE:
		return "input does not parse";
	default:
		return "unknown error";
	}
}
