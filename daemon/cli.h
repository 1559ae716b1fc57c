/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_DAEMON_CLI_H
#define EDGEGUARD_DAEMON_CLI_H

/*
 * Subcommands of the `edgeguard` CLI. Each takes the arguments after its
 * own name (argv[0] is the subcommand name) and returns the process exit
 * status: 0 success / admitted, 1 rejected or failed check, 2 usage or
 * configuration error.
 */
#define EG_EXIT_OK     0
#define EG_EXIT_REJECT 1
#define EG_EXIT_USAGE  2

int eg_cli_check(int argc, char **argv);
int eg_cli_config_test(int argc, char **argv);
int eg_cli_pki(int argc, char **argv);
int eg_cli_audit(int argc, char **argv);

#endif
