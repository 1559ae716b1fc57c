# The network core (daemon/core) both daemons are built on: buffers,
# addresses, TLS (server and client side), HTTP/1.1 heads and hop-by-hop
# fields, logging, privilege drop.

# llhttp: a system libllhttp, or the node-llhttp C sources compiled here in
# their own convenience library with warnings off (generated code).
if BUNDLED_LLHTTP
noinst_LTLIBRARIES += daemon/core/libllhttp.la
daemon_core_libllhttp_la_SOURCES = \
	daemon/core/llhttp_llhttp.c \
	daemon/core/llhttp_api.c \
	daemon/core/llhttp_http.c
daemon_core_libllhttp_la_CPPFLAGS = -I$(LLHTTP_SRCDIR) $(LLHTTP_CFLAGS)
daemon_core_libllhttp_la_CFLAGS = -std=gnu11 -w $(EG_SAN_CFLAGS)
EG_LLHTTP_LIBS = daemon/core/libllhttp.la
else
EG_LLHTTP_LIBS = $(LLHTTP_LIBS)
endif
EXTRA_DIST += daemon/core/llhttp_llhttp.c daemon/core/llhttp_api.c \
	daemon/core/llhttp_http.c

noinst_LTLIBRARIES += daemon/core/libegcore.la
daemon_core_libegcore_la_SOURCES = \
	daemon/core/admin.c daemon/core/admin.h \
	daemon/core/buf.c daemon/core/buf.h \
	daemon/core/conn.h \
	daemon/core/daemon.c daemon/core/daemon.h \
	daemon/core/dcfg.c daemon/core/dcfg.h \
	daemon/core/dconf.c daemon/core/dconf.h \
	daemon/core/exchange.c daemon/core/exchange.h \
	daemon/core/fwd.c daemon/core/fwd.h \
	daemon/core/hop.c daemon/core/hop.h \
	daemon/core/http1.c daemon/core/http1.h \
	daemon/core/log.c daemon/core/log.h \
	daemon/core/net.c daemon/core/net.h \
	daemon/core/pool.c daemon/core/pool.h \
	daemon/core/privs.c daemon/core/privs.h \
	daemon/core/prom.c daemon/core/prom.h \
	daemon/core/stream.c daemon/core/stream.h \
	daemon/core/tls.c daemon/core/tls.h \
	daemon/core/tls_client.c daemon/core/tls_client.h \
	daemon/core/worker.c daemon/core/worker.h
daemon_core_libegcore_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) \
	$(LIBCONFIG_CFLAGS) $(LLHTTP_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_core_libegcore_la_LIBADD = $(EG_LLHTTP_LIBS) $(GNUTLS_LIBS) \
	$(LIBCONFIG_LIBS)

# What every daemon program compiles and links with.
EG_DAEMON_CFLAGS = $(AM_CFLAGS) $(EG_LIB_CFLAGS) $(GNUTLS_CFLAGS) \
	$(LLHTTP_CFLAGS) $(SYSTEMD_CFLAGS)
EG_DAEMON_LIBS = daemon/core/libegcore.la lib/libedgeguard-internal.la \
	$(LIBEV_LIBS) $(GNUTLS_LIBS) $(LIBCONFIG_LIBS) $(JANSSON_LIBS) \
	$(SYSTEMD_LIBS) $(PTHREAD_LIBS)

# Check suites for the network core (variables from tests/unit/local.mk).
if HAVE_CHECK
EG_CORE_UNIT_TESTS = \
	tests/unit/check_core_http1 \
	tests/unit/check_core_buf \
	tests/unit/check_core_net \
	tests/unit/check_core_prom \
	tests/unit/check_core_dconf
check_PROGRAMS += $(EG_CORE_UNIT_TESTS)
TESTS += $(EG_CORE_UNIT_TESTS)
EG_CORE_UNIT_CFLAGS = $(EG_UNIT_CFLAGS) $(LLHTTP_CFLAGS)
EG_CORE_UNIT_LDADD = daemon/core/libegcore.la $(EG_UNIT_LDADD)
tests_unit_check_core_http1_CFLAGS = $(EG_CORE_UNIT_CFLAGS)
tests_unit_check_core_http1_LDADD = $(EG_CORE_UNIT_LDADD)
tests_unit_check_core_buf_CFLAGS = $(EG_CORE_UNIT_CFLAGS)
tests_unit_check_core_buf_LDADD = $(EG_CORE_UNIT_LDADD)
tests_unit_check_core_net_CFLAGS = $(EG_CORE_UNIT_CFLAGS)
tests_unit_check_core_net_LDADD = $(EG_CORE_UNIT_LDADD)
tests_unit_check_core_prom_CFLAGS = $(EG_CORE_UNIT_CFLAGS)
tests_unit_check_core_prom_LDADD = $(EG_CORE_UNIT_LDADD)
tests_unit_check_core_dconf_CFLAGS = $(EG_CORE_UNIT_CFLAGS)
tests_unit_check_core_dconf_LDADD = $(EG_CORE_UNIT_LDADD)
endif
