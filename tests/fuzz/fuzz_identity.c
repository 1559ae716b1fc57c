/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: DER from a peer through identity extraction, and the
 * extracted identity through every allowlist matcher and the audit
 * formatter (the paths a hostile client certificate takes). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <edgeguard/edgeguard.h>

#include "match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[][2] = {
	{"dns", "*.example.com"},
	{"dns", "a.example.com"},
	{"uri", "spiffe://example.net/edge/*"},
	{"ip", "10.0.0.0/8"},
	{"ip", "2001:db8::/32"},
	{"email", "a@example.com"},
	{"cn", "edge"},
	{"o", "Example"},
	{"ou", "edge"},
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct eg_pattern compiled[NPATTERNS];
	static int ready;
	struct eg_identity *id;
	struct eg_audit_event ev = {0};
	const struct eg_str *v;
	char summary[256], why[128];
	char *line;
	size_t len;

	if (!ready) {
		for (size_t i = 0; i < NPATTERNS; i++) {
			enum eg_field f = EG_FIELD_CN;

			for (int k = 0; k < EG_FIELD_COUNT; k++)
				if (strcmp(eg_match_field_name(k),
					   patterns[i][0]) == 0)
					f = (enum eg_field)k;
			if (eg_match_compile(f, patterns[i][1], &compiled[i],
					     why, sizeof(why)) != 0)
				abort();
		}
		ready = 1;
	}
	if (eg_identity_from_der(data, size, &id) != 0)
		return 0;
	for (size_t i = 0; i < NPATTERNS; i++)
		(void)eg_match_identity(&compiled[i], id, &v);
	eg_identity_summary(id, summary, sizeof(summary));
	ev.event = EG_EVENT_REJECT;
	ev.reason = EG_REASON_IDENTITY_NOT_ALLOWED;
	ev.identity = id;
	if (eg_audit_format(&ev, 1, 256, &line, &len) == 0)
		eg_free(line);
	eg_identity_free(id);
	return 0;
}
