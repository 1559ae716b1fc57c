# edgeguard-forwarder (issue 4): the edge daemon. Takes HTTP/1.1 from the
# local edge proxy and forwards it to origins over mutual TLS.

# Configuration and the origin probe are shared with `edgeguard check
# --forwarder` (daemon/cli_check.c).
noinst_LTLIBRARIES += daemon/forwarder/libegforwarder.la
daemon_forwarder_libegforwarder_la_SOURCES = \
	daemon/forwarder/forwarder.h \
	daemon/forwarder/fconfig.c daemon/forwarder/fconfig.h \
	daemon/forwarder/tlsin.c daemon/forwarder/tlsin.h \
	daemon/forwarder/probe.c daemon/forwarder/probe.h \
	daemon/forwarder/metrics.c daemon/forwarder/metrics.h
daemon_forwarder_libegforwarder_la_CFLAGS = $(EG_DAEMON_CFLAGS)

sbin_PROGRAMS += daemon/edgeguard-forwarder
daemon_edgeguard_forwarder_SOURCES = \
	daemon/forwarder/main.c \
	daemon/forwarder/worker.c \
	daemon/forwarder/conn.c \
	daemon/forwarder/exchange.c \
	daemon/forwarder/request.c \
	daemon/forwarder/upstream.c \
	daemon/forwarder/admin.c
daemon_edgeguard_forwarder_CFLAGS = $(EG_DAEMON_CFLAGS)
daemon_edgeguard_forwarder_LDADD = daemon/forwarder/libegforwarder.la \
	$(EG_DAEMON_LIBS)

EG_FORWARDER_TESTS = \
	tests/integration/forwarder-basic.sh \
	tests/integration/forwarder-failures.sh \
	tests/integration/forwarder-origins.sh \
	tests/integration/forwarder-reload.sh \
	tests/integration/forwarder-probe.sh \
	tests/integration/forwarder-nginx.sh \
	tests/integration/forwarder-tls.sh
TESTS += $(EG_FORWARDER_TESTS)
EXTRA_DIST += $(EG_FORWARDER_TESTS) tests/integration/forwarder-lib.sh \
	conf/forwarder.conf
