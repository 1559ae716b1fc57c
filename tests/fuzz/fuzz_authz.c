/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the certificate header of the verifier's authorization
 * endpoint (URL-escaped PEM, Envoy's XFCC Cert="...", Traefik's base64
 * list), decoded to DER and, when that works, verified against a policy.
 * The first input byte picks the form; the rest is the header value. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <edgeguard/edgeguard.h>

#include "fuzz_common.h"
#include "verifier/authz_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct eg_policy *policy(void)
{
	static struct eg_policy *p;

	return fuzz_policy(
		&p, "policy = { trust = { ca_files = [ \"" FUZZ_CA "\" ]; };\n"
		    " default = { allow = { dns = [ \"a.example.com\" ]; }; };"
		    " };");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_authz_chain ch = {0};
	struct eg_peer *peer = NULL;

	if (size == 0)
		return 0;
	if (vf_authz_chain_parse(&ch, (enum vf_authz_form)(data[0] % 3),
				 (const char *)data + 1, size - 1) == 0 &&
	    ch.nv > 0 &&
	    eg_peer_verify(policy(), ch.v, ch.nv, time(NULL), &peer) == 0)
		eg_peer_free(peer);
	vf_authz_chain_free(&ch);
	return 0;
}
