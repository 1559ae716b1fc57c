/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_DAEMON_CLI_PKI_H
#define EDGEGUARD_DAEMON_CLI_PKI_H

/*
 * `edgeguard pki` inside: its arguments and messages (cli_pki_args.c),
 * shared with the subcommands (cli_pki.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "pki.h"

#define DAY_SECONDS (24 * 60 * 60)
#define PATH_LEN    4096
#define ERR_LEN	    1024

/* Everything any pki subcommand accepts; each one's option table limits
 * what it can set. Arrays are sized by argc and owned. */
struct eg_cli_pki_args {
	enum eg_pki_key_type key_type;
	unsigned rsa_bits;
	unsigned days;		 /* 0: the subcommand's default */
	time_t not_before;	 /* 0: now - 1 hour */
	time_t not_after;	 /* 0: not_before + days */
	time_t this_update;	 /* crl; 0: now */
	time_t next_update;	 /* crl; 0: this_update + days */
	bool force;		 /* replace existing files */
	unsigned eku;		 /* issue: EG_PKI_EKU_* */
	unsigned eku_opts;	 /* how many of --client/--server/--no-eku */
	const char *ca;		 /* --ca DIR or PREFIX */
	const char *out;	 /* --out */
	const char *cn;		 /* --cn, or the first DNS/origin name */
	const char *edge_name;	 /* init */
	struct eg_pki_san *san;	 /* SANs in command-line order */
	unsigned char (*ip)[16]; /* storage behind EG_SAN_IP entries */
	size_t san_n;
	const char **revoke; /* crl: certificate files */
	size_t revoke_n;
};

/* "pki", "pki init", ...: how messages name the command being run. */
extern const char *eg_cli_pki_cmd;

/* Print "edgeguard CMD: message" and a hint to --help on stderr; return
 * EG_EXIT_USAGE. */
int eg_cli_pki_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Print "edgeguard CMD: msg" on stderr; return EG_EXIT_REJECT. */
int eg_cli_pki_fail(const char *msg);

/* Adds a SAN (a name given as an address becomes an IP SAN when guess_ip);
 * a repeated one adds nothing. s is borrowed. Returns 0 or EG_EXIT_USAGE
 * (reported). */
int eg_cli_pki_san_add(struct eg_cli_pki_args *a, enum eg_san_type type,
		       const char *s, bool guess_ip);

/* Parses the options whose getopt vals are in `allowed` into a, printing
 * `help` for --help, and checks the operands: exactly one, described by
 * `operand` ("one directory"), or none when it is NULL. Returns -1 to go on
 * (optind: the operand), or the exit status (help, bad usage: reported). */
int eg_cli_pki_parse(int argc, char **argv, const char *allowed,
		     const char *help, const char *operand,
		     struct eg_cli_pki_args *a);

/* spec's validity from --not-before/--not-after, else an hour ago and
 * `days` later. */
void eg_cli_pki_validity(struct eg_pki_spec *spec,
			 const struct eg_cli_pki_args *a, unsigned days);

#endif
