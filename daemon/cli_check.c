/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `edgeguard check` and `edgeguard config-test`: the library's decision,
 * explained to an operator, with exactly the code path the daemons and
 * plugins use.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>

#include <edgeguard/edgeguard.h>

#include "cli.h"
#include "cli_util.h"
#include "forwarder/probe.h"

/* Trust items expiring within this many seconds are flagged. */
#define EG_EXPIRY_WARN_S (30 * 24 * 3600)

struct check_opts {
	const char *forwarder; /* --forwarder: probe an origin instead */
	const char *origin;
	const char *config;
	const char *chain;
	const char *host;
	const char *path;
	time_t at;
	bool json;
	bool no_cert;
};

static void check_usage(FILE *f)
{
	fprintf(f, "usage: edgeguard check --config FILE (--chain PEM | "
		   "--no-certificate)\n"
		   "                       [--host HOST] [--path PATH] [--at "
		   "TIME] [--json]\n"
		   "\n"
		   "Decides as the verifier, nginx and Apache modules would: "
		   "prints the\n"
		   "decision, reason, extracted identity, matching rule and, "
		   "for a\n"
		   "rejection, how to fix it. TIME is RFC 3339 or @EPOCH "
		   "(default: now).\n"
		   "Exit status: 0 admitted, 1 rejected, 2 usage or "
		   "configuration error.\n");
}

/* Reads a PEM (or single DER) chain file into DER blobs. */
static int read_chain(const char *file, gnutls_datum_t **out, unsigned *n)
{
	gnutls_datum_t data = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	unsigned count = 0;
	int ret;

	*out = NULL;
	*n = 0;
	ret = gnutls_load_file(file, &data);
	if (ret < 0) {
		fprintf(stderr, "edgeguard check: cannot read %s: %s\n", file,
			gnutls_strerror(ret));
		return -1;
	}
	ret = gnutls_x509_crt_list_import2(&crts, &count, &data,
					   GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0 || count == 0) {
		/* Not PEM: hand the bytes over as one DER certificate, so a
		 * malformed file is judged like a malformed peer chain. */
		*out = gnutls_malloc(sizeof(**out));
		if (*out == NULL) {
			gnutls_free(data.data);
			return -1;
		}
		(*out)[0] = data;
		*n = 1;
		return 0;
	}
	gnutls_free(data.data);
	*out = gnutls_calloc(count, sizeof(**out));
	for (unsigned i = 0; i < count; i++) {
		if (*out != NULL &&
		    gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER,
					    &(*out)[*n]) == 0)
			(*n)++;
		gnutls_x509_crt_deinit(crts[i]);
	}
	gnutls_free(crts);
	return *n == count ? 0 : -1;
}

static const char *const san_type_name[] = {"dns", "uri", "ip", "email"};

static void print_identity(const struct eg_identity *id)
{
	char t1[32], t2[32];

	printf("identity:\n  subject:  ");
	eg_cli_print_escaped(stdout, id->subject.ptr, id->subject.len);
	printf("\n  issuer:   ");
	eg_cli_print_escaped(stdout, id->issuer.ptr, id->issuer.len);
	printf("\n  serial:   %s\n  sha256:   %s\n  spki:     %s\n", id->serial,
	       id->sha256, id->spki_sha256);
	printf("  valid:    %s .. %s\n",
	       eg_cli_format_time(id->not_before, t1, sizeof(t1)),
	       eg_cli_format_time(id->not_after, t2, sizeof(t2)));
	printf("  clientAuth EKU: %s\n",
	       id->has_client_auth_eku ? "yes" : "no");
	for (size_t i = 0; i < id->san_count; i++) {
		printf("  san:      %s=", san_type_name[id->san[i].type]);
		eg_cli_print_escaped(stdout, id->san[i].value.ptr,
				     id->san[i].value.len);
		printf("%s\n", id->san[i].well_formed
				       ? ""
				       : "  (malformed: never matches)");
	}
}

static void print_trust(const struct eg_policy *p, time_t at)
{
	size_t n;
	const struct eg_trust_item *items = eg_policy_trust_items(p, &n);
	char t[32];

	printf("trust:\n");
	for (size_t i = 0; i < n; i++) {
		const char *state = "";

		if (items[i].expires != 0 && items[i].expires < at)
			state = items[i].kind == EG_TRUST_CRL
					? "  EXPIRED (see trust.crl_expired)"
					: "  EXPIRED";
		else if (items[i].expires != 0 &&
			 items[i].expires - at < EG_EXPIRY_WARN_S)
			state = "  expires within 30 days";
		printf("  %-3s %s  (%s)  %s %s%s\n",
		       items[i].kind == EG_TRUST_CA ? "ca" : "crl",
		       items[i].subject, items[i].file,
		       items[i].kind == EG_TRUST_CA ? "not after"
						    : "next update",
		       items[i].expires ? eg_cli_format_time(items[i].expires,
							     t, sizeof(t))
					: "(none)",
		       state);
	}
}

static json_t *str_json(const struct eg_str *s)
{
	/* Peer bytes: invalid UTF-8 would make jansson refuse the string. */
	json_t *j = json_stringn(s->ptr, s->len);

	return j ? j : json_string("(not valid UTF-8)");
}

static json_t *identity_json(const struct eg_identity *id)
{
	json_t *o = json_object(), *san = json_array();

	json_object_set_new(o, "subject", str_json(&id->subject));
	json_object_set_new(o, "issuer", str_json(&id->issuer));
	json_object_set_new(o, "serial", json_string(id->serial));
	json_object_set_new(o, "sha256", json_string(id->sha256));
	json_object_set_new(o, "spki_sha256", json_string(id->spki_sha256));
	json_object_set_new(o, "not_before", json_integer(id->not_before));
	json_object_set_new(o, "not_after", json_integer(id->not_after));
	json_object_set_new(o, "client_auth_eku",
			    json_boolean(id->has_client_auth_eku));
	for (size_t i = 0; i < id->san_count; i++)
		json_array_append_new(
			san, json_pack("{s:s, s:o, s:b}", "type",
				       san_type_name[id->san[i].type], "value",
				       str_json(&id->san[i].value),
				       "well_formed", id->san[i].well_formed));
	json_object_set_new(o, "san", san);
	return o;
}

static void print_decision(const struct check_opts *o,
			   const struct eg_policy *p,
			   const struct eg_decision *d)
{
	const char *verdict = d->admit ? "admit" : "reject";

	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "decision", json_string(verdict));
		json_object_set_new(j, "event",
				    json_string(eg_event_name(d->event)));
		json_object_set_new(
			j, "reason",
			d->reason == EG_REASON_NONE
				? json_null()
				: json_string(eg_reason_name(d->reason)));
		json_object_set_new(j, "rule", json_string(d->rule));
		json_object_set_new(j, "mode",
				    json_string(eg_mode_name(d->mode)));
		json_object_set_new(j, "matched",
				    d->matched ? json_string(d->matched)
					       : json_null());
		json_object_set_new(j, "detail", json_string(d->detail));
		if (d->reason != EG_REASON_NONE)
			json_object_set_new(
				j, "remedy",
				json_string(eg_reason_remedy(d->reason)));
		json_object_set_new(j, "identity",
				    d->identity ? identity_json(d->identity)
						: json_null());
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
		return;
	}
	printf("decision: %s%s\n", verdict,
	       d->event == EG_EVENT_WOULD_REJECT
		       ? " (log-only rule: would be rejected under enforce)"
		       : "");
	printf("reason:   %s\n", eg_reason_name(d->reason));
	printf("rule:     %s (%s)\n", d->rule, eg_mode_name(d->mode));
	if (d->matched != NULL)
		printf("matched:  %s\n", d->matched);
	if (d->detail[0] != '\0')
		printf("detail:   %s\n", d->detail);
	if (d->reason != EG_REASON_NONE)
		printf("remedy:   %s\n", eg_reason_remedy(d->reason));
	if (d->identity != NULL)
		print_identity(d->identity);
	print_trust(p, o->at);
}

static int parse_check_opts(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"chain", required_argument, NULL, 'C'},
		{"no-certificate", no_argument, NULL, 'N'},
		{"host", required_argument, NULL, 'H'},
		{"path", required_argument, NULL, 'P'},
		{"at", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"forwarder", required_argument, NULL, 'F'},
		{"origin", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->at = time(NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'C':
			o->chain = optarg;
			break;
		case 'N':
			o->no_cert = true;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'P':
			o->path = optarg;
			break;
		case 'a':
			if (eg_cli_parse_time(optarg, &o->at) < 0) {
				fprintf(stderr,
					"edgeguard check: --at: expected RFC "
					"3339 time or @EPOCH, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'j':
			o->json = true;
			break;
		case 'F':
			o->forwarder = optarg;
			break;
		case 'O':
			o->origin = optarg;
			break;
		case 'h':
			check_usage(stdout);
			exit(EG_EXIT_OK);
		default:
			check_usage(stderr);
			return -1;
		}
	}
	if (o->forwarder != NULL || o->origin != NULL) {
		if (o->forwarder == NULL || o->origin == NULL ||
		    o->config != NULL || o->chain != NULL || optind != argc) {
			check_usage(stderr);
			return -1;
		}
		return 0;
	}
	if (o->config == NULL || (o->chain == NULL) == !o->no_cert ||
	    optind != argc) {
		check_usage(stderr);
		return -1;
	}
	return 0;
}

int eg_cli_check(int argc, char **argv)
{
	struct check_opts o;
	struct eg_policy *policy = NULL;
	struct eg_peer *peer = NULL;
	struct eg_decision d;
	struct eg_request req;
	gnutls_datum_t *chain = NULL;
	struct eg_der *der = NULL;
	unsigned n = 0;
	char err[512];
	int ret, status = EG_EXIT_USAGE;

	if (parse_check_opts(argc, argv, &o) < 0)
		return EG_EXIT_USAGE;
	if (o.forwarder != NULL)
		return egf_probe_origin(o.forwarder, o.origin, stdout);
	ret = eg_policy_load_file(o.config, &policy, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "edgeguard check: %s\n", err);
		goto out;
	}
	if (o.chain != NULL && read_chain(o.chain, &chain, &n) < 0)
		goto out;
	der = calloc(n ? n : 1, sizeof(*der));
	if (der == NULL)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		der[i].data = chain[i].data;
		der[i].len = chain[i].size;
	}
	ret = eg_peer_verify(policy, der, n, o.at, &peer);
	if (ret < 0) {
		fprintf(stderr, "edgeguard check: %s\n", eg_strerror(ret));
		goto out;
	}
	req.host = o.host;
	req.path = o.path;
	ret = eg_policy_decide(policy, o.no_cert ? NULL : peer, &req, &d);
	if (ret < 0) {
		fprintf(stderr, "edgeguard check: %s\n", eg_strerror(ret));
		goto out;
	}
	print_decision(&o, policy, &d);
	status = d.admit ? EG_EXIT_OK : EG_EXIT_REJECT;
out:
	eg_peer_free(peer);
	free(der);
	for (unsigned i = 0; i < n; i++)
		gnutls_free(chain[i].data);
	gnutls_free(chain);
	eg_policy_unref(policy);
	return status;
}

int eg_cli_config_test(int argc, char **argv)
{
	struct eg_policy *policy = NULL;
	struct eg_audit_config *audit = NULL;
	char err[512];
	int ret;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout
								    : stderr,
			"usage: edgeguard config-test FILE\n"
			"Checks the policy and audit sections of FILE; exit 0 "
			"when valid, 1 when not.\n");
		return argc == 2 && strcmp(argv[1], "--help") == 0
			       ? EG_EXIT_OK
			       : EG_EXIT_USAGE;
	}
	ret = eg_policy_load_file(argv[1], &policy, err, sizeof(err));
	if (ret == 0)
		ret = eg_audit_config_load(argv[1], &audit, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "edgeguard: %s\n", err);
		fprintf(stderr,
			"edgeguard: configuration file %s test failed\n",
			argv[1]);
		eg_policy_unref(policy);
		return EG_EXIT_REJECT;
	}
	print_trust(policy, time(NULL));
	printf("edgeguard: configuration file %s test is successful\n",
	       argv[1]);
	eg_audit_config_free(audit);
	eg_policy_unref(policy);
	return EG_EXIT_OK;
}
