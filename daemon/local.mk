# Programs: the `edgeguard` CLI and the daemons, plus their shared code.

# Certificate minting (pki*.c) is shared by the CLI and the unit tests.
noinst_LTLIBRARIES += daemon/libegtool.la
daemon_libegtool_la_SOURCES = daemon/pki.c daemon/pki.h daemon/pki_crl.c \
	daemon/pki_file.c daemon/pki_internal.h
daemon_libegtool_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
daemon_libegtool_la_LIBADD = $(GNUTLS_LIBS)

bin_PROGRAMS += daemon/edgeguard
daemon_edgeguard_SOURCES = \
	daemon/cli.c daemon/cli.h \
	daemon/cli_check.c \
	daemon/cli_util.c daemon/cli_util.h \
	daemon/cli_pki.c daemon/cli_pki.h daemon/cli_pki_args.c \
	daemon/cli_audit.c
daemon_edgeguard_CFLAGS = $(AM_CFLAGS) $(EG_LIB_CFLAGS) $(JANSSON_CFLAGS)
# The forwarder's probe (check --forwarder) uses the library's internals.
daemon_edgeguard_LDADD = daemon/forwarder/libegforwarder.la \
	daemon/libegtool.la $(EG_DAEMON_LIBS)

include daemon/core.mk
include daemon/verifier.mk
include daemon/forwarder.mk
