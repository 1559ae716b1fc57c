/* SPDX-License-Identifier: Apache-2.0 */
/* `edgeguard`: the operator's command line. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include <edgeguard/edgeguard.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgeguard COMMAND [ARGS]\n"
		"\n"
		"  check        would this certificate chain be admitted, and "
		"why not\n"
		"               check --config FILE --chain PEM [--host H] "
		"[--path P] [--at TIME] [--json]\n"
		"  config-test  validate a configuration file (like nginx -t)\n"
		"               config-test FILE\n"
		"  pki          demo CA, origin and edge certificates\n"
		"               pki init DIR | pki issue ... | pki ca ... | "
		"pki crl ...\n"
		"  audit        summarise audit logs\n"
		"               audit summarize [--json] [--top N] FILE...\n"
		"  version      print the version\n"
		"\n"
		"'edgeguard COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{"check", eg_cli_check},
		{"config-test", eg_cli_config_test},
		{"pki", eg_cli_pki},
		{"audit", eg_cli_audit},
	};
	int ret;

	if (argc < 2) {
		usage(stderr);
		return EG_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EG_EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("edgeguard %s (GnuTLS %s)\n", eg_version(),
		       gnutls_check_version(NULL));
		return EG_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (gnutls_global_init() < 0) {
			fprintf(stderr,
				"edgeguard: GnuTLS failed to initialise\n");
			return EG_EXIT_REJECT;
		}
		ret = commands[i].run(argc - 1, argv + 1);
		gnutls_global_deinit();
		return ret;
	}
	fprintf(stderr, "edgeguard: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EG_EXIT_USAGE;
}
