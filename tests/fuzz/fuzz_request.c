/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: request host and path as a client sends them, through
 * rule selection (normalisation) and the audit formatter. The input is
 * split at the first NUL: host, then path; the rest becomes the SNI. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <edgeguard/edgeguard.h>

#include "fuzz_common.h"
#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No CA files can be assumed here: a policy with only rules is loaded from
 * text with a CA bundle the fuzzer build ships. */
static struct eg_policy *policy(void)
{
	static struct eg_policy *p;

	return fuzz_policy(
		&p, "policy = { trust = { ca_files = [ \"" FUZZ_CA "\" ]; };\n"
		    " default = { allow_any = true; };\n"
		    " rules = ( { name = \"a\"; hosts = [ \"*.example.com\" ];"
		    " paths = [ \"/admin\" ]; allow_any = true; } ); };");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	char norm[4096];
	struct eg_request req;
	struct eg_decision d;
	struct eg_audit_event ev = {0};
	char *line;
	size_t len, hlen;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	hlen = strlen(buf);
	req.host = buf;
	req.path = buf + hlen + (hlen < size ? 1 : 0);
	(void)eg_path_normalize(req.path, norm, sizeof(norm));
	if (eg_policy_decide(policy(), NULL, &req, &d) == 0 && d.admit)
		abort(); /* no certificate is never admitted by enforce rules */
	ev.host = req.host;
	ev.path = req.path;
	ev.sni = req.path + strlen(req.path);
	ev.method = req.host;
	if (eg_audit_format(&ev, 2, 16, &line, &len) == 0) {
		if (memchr(line, '\n', len) != line + len - 1)
			abort(); /* one record, one line */
		eg_free(line);
	}
	free(buf);
	return 0;
}
