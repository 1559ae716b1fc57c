/* SPDX-License-Identifier: Apache-2.0 */
/* `edgeguard pki`: the options of every subcommand, and its messages. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pki.h"
#include "cli_util.h"

#define MAX_DAYS (100 * 366)

const char *eg_cli_pki_cmd = "pki";

int eg_cli_pki_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "edgeguard %s: ", eg_cli_pki_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'edgeguard %s --help'.\n", eg_cli_pki_cmd);
	return EG_EXIT_USAGE;
}

int eg_cli_pki_fail(const char *msg)
{
	fprintf(stderr, "edgeguard %s: %s\n", eg_cli_pki_cmd, msg);
	return EG_EXIT_REJECT;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_time(const char *opt, const char *s, time_t *out)
{
	/* 0 means "default" in the pki specs: 1970 is no useful date. */
	if (eg_cli_parse_time(s, out) == -1 || *out <= 0)
		return eg_cli_pki_usage(
			"--%s: expected an RFC 3339 time "
			"(2020-01-01T00:00:00Z) or @EPOCH: '%s'",
			opt, s);
	return 0;
}

int eg_cli_pki_san_add(struct eg_cli_pki_args *a, enum eg_san_type type,
		       const char *s, bool guess_ip)
{
	struct eg_pki_san *san = &a->san[a->san_n];
	unsigned char *ip = a->ip[a->san_n];
	size_t i;

	san->type = type;
	san->data = s;
	san->len = strlen(s);
	if (type == EG_SAN_IP || guess_ip) {
		san->data = ip;
		if (inet_pton(AF_INET, s, ip) == 1)
			san->len = 4;
		else if (inet_pton(AF_INET6, s, ip) == 1)
			san->len = 16;
		else if (type == EG_SAN_IP)
			return eg_cli_pki_usage("not an IP address: '%s'", s);
		else
			san->data = s;
		if (san->data == ip)
			san->type = EG_SAN_IP;
	}
	if (san->len == 0)
		return eg_cli_pki_usage("empty name");
	for (i = 0; i < a->san_n; i++)
		if (a->san[i].type == san->type && a->san[i].len == san->len &&
		    memcmp(a->san[i].data, san->data, san->len) == 0)
			return 0; /* a repeated name adds nothing */
	a->san_n++;
	return 0;
}

/* Every option of every subcommand; `val` is what eg_cli_pki_parse() switches
 * on and what a subcommand lists as its own. */
static const struct option options[] = {
	{"help", no_argument, NULL, 'h'},
	{"ca", required_argument, NULL, 'c'},
	{"out", required_argument, NULL, 'O'},
	{"cn", required_argument, NULL, 'n'},
	{"origin-name", required_argument, NULL, 'o'},
	{"edge-name", required_argument, NULL, 'e'},
	{"client", no_argument, NULL, 'C'},
	{"server", no_argument, NULL, 'S'},
	{"no-eku", no_argument, NULL, 'N'},
	{"dns", required_argument, NULL, 'D'},
	{"uri", required_argument, NULL, 'U'},
	{"ip", required_argument, NULL, 'I'},
	{"email", required_argument, NULL, 'E'},
	{"days", required_argument, NULL, 'd'},
	{"not-before", required_argument, NULL, 'B'},
	{"not-after", required_argument, NULL, 'A'},
	{"this-update", required_argument, NULL, 'T'},
	{"next-update", required_argument, NULL, 'X'},
	{"revoke", required_argument, NULL, 'R'},
	{"rsa", optional_argument, NULL, 'r'},
	{"force", no_argument, NULL, 'f'},
	{NULL, 0, NULL, 0},
};

int eg_cli_pki_parse(int argc, char **argv, const char *allowed,
		     const char *help, const char *operand,
		     struct eg_cli_pki_args *a)
{
	int c, rc, idx;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":", options, &idx)) != -1) {
		rc = 0;
		if (c != ':' && c != '?' && strchr(allowed, c) == NULL)
			return eg_cli_pki_usage("--%s is not an option of this "
						"command",
						options[idx].name);
		switch (c) {
		case 'h':
			fputs(help, stdout);
			return EG_EXIT_OK;
		case 'r':
			a->key_type = EG_PKI_KEY_RSA;
			a->rsa_bits = 2048;
			if (optarg != NULL &&
			    parse_uint(optarg, 2048, 16384, &a->rsa_bits) == -1)
				rc = eg_cli_pki_usage("--rsa: bits must be "
						      "2048..16384: '%s'",
						      optarg);
			break;
		case 'd':
			if (parse_uint(optarg, 1, MAX_DAYS, &a->days) == -1)
				rc = eg_cli_pki_usage(
					"--days: expected 1..%u: '%s'",
					MAX_DAYS, optarg);
			break;
		case 'B':
			rc = parse_time("not-before", optarg, &a->not_before);
			break;
		case 'A':
			rc = parse_time("not-after", optarg, &a->not_after);
			break;
		case 'T':
			rc = parse_time("this-update", optarg, &a->this_update);
			break;
		case 'X':
			rc = parse_time("next-update", optarg, &a->next_update);
			break;
		case 'f':
			a->force = true;
			break;
		case 'C':
		case 'S':
		case 'N':
			a->eku_opts++;
			a->eku = c == 'C'   ? EG_PKI_EKU_CLIENT_AUTH
				 : c == 'S' ? EG_PKI_EKU_SERVER_AUTH
					    : 0;
			break;
		case 'c':
			a->ca = optarg;
			break;
		case 'O':
			a->out = optarg;
			break;
		case 'n':
			a->cn = optarg;
			break;
		case 'e':
			a->edge_name = optarg;
			break;
		case 'R':
			a->revoke[a->revoke_n++] = optarg;
			break;
		case 'o': /* init --origin-name: DNS name or address */
		case 'D':
			if (a->cn == NULL)
				a->cn = optarg;
			rc = eg_cli_pki_san_add(a, EG_SAN_DNS, optarg,
						c == 'o');
			break;
		case 'U':
		case 'I':
		case 'E':
			rc = eg_cli_pki_san_add(a,
						c == 'U'   ? EG_SAN_URI
						: c == 'I' ? EG_SAN_IP
							   : EG_SAN_EMAIL,
						optarg, false);
			break;
		case ':':
			return eg_cli_pki_usage("option '%s' needs an argument",
						argv[optind - 1]);
		default:
			return eg_cli_pki_usage("unknown option '%s'",
						argv[optind - 1]);
		}
		if (rc != 0)
			return rc;
	}
	if (operand != NULL && optind != argc - 1)
		return eg_cli_pki_usage("expected %s", operand);
	if (operand == NULL && optind != argc)
		return eg_cli_pki_usage("unexpected argument '%s'",
					argv[optind]);
	return -1;
}

void eg_cli_pki_validity(struct eg_pki_spec *spec,
			 const struct eg_cli_pki_args *a, unsigned days)
{
	spec->not_before =
		a->not_before != 0 ? a->not_before : time(NULL) - 3600;
	spec->not_after =
		a->not_after != 0
			? a->not_after
			: spec->not_before + (time_t)days * DAY_SECONDS;
}
