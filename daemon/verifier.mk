# edgeguard-verifier (issue 3): the origin daemon. Terminates mutual TLS
# from the edge, decides with the library and proxies to the backend.

sbin_PROGRAMS += daemon/edgeguard-verifier
daemon_edgeguard_verifier_SOURCES = \
	daemon/verifier/main.c \
	daemon/verifier/verifier.h \
	daemon/verifier/vconfig.c daemon/verifier/vconfig.h \
	daemon/verifier/worker.c \
	daemon/verifier/conn.c \
	daemon/verifier/request.c \
	daemon/verifier/backend.c \
	daemon/verifier/decide.c \
	daemon/verifier/idhdr.c \
	daemon/verifier/authz.c \
	daemon/verifier/authz_cert.c \
	daemon/verifier/authz_cert.h \
	daemon/verifier/admin.c \
	daemon/verifier/metrics.c daemon/verifier/metrics.h
daemon_edgeguard_verifier_CFLAGS = $(EG_DAEMON_CFLAGS)
daemon_edgeguard_verifier_LDADD = $(EG_DAEMON_LIBS)

EG_VERIFIER_TESTS = \
	tests/integration/verifier-basic.sh \
	tests/integration/verifier-reload.sh \
	tests/integration/verifier-limits.sh \
	tests/integration/verifier-authz.sh \
	tests/integration/verifier-proxy.sh \
	tests/integration/verifier-tls.sh \
	tests/integration/verifier-system.sh \
	tests/integration/pkcs11.sh \
	tests/integration/verifier-load.sh \
	tests/integration/verifier-cases.sh \
	tests/integration/verifier-logfile.sh
TESTS += $(EG_VERIFIER_TESTS)
EXTRA_DIST += $(EG_VERIFIER_TESTS) tests/integration/verifier-lib.sh \
	tests/integration/echo-backend.py tests/integration/verifier-loadgen.py \
	conf/verifier.conf
