# Benchmark (issue 7): eg-loadgen, a mutual-TLS load generator on GnuTLS,
# and `make bench`, which measures edgeguard-verifier side by side with
# nginx, HAProxy and stunnel on loopback, and the edge+origin pairs
# (edgeguard-forwarder -> edgeguard-verifier, nginx -> nginx, HAProxy ->
# HAProxy) under wrk (tests/bench/run.sh).
noinst_PROGRAMS += tests/bench/eg-loadgen
tests_bench_eg_loadgen_SOURCES = \
	tests/bench/eg-loadgen.c \
	tests/bench/lg_conn.c \
	tests/bench/lg_hist.c \
	tests/bench/loadgen.h
tests_bench_eg_loadgen_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) \
	$(JANSSON_CFLAGS) $(LLHTTP_CFLAGS)
tests_bench_eg_loadgen_LDADD = $(EG_LLHTTP_LIBS) $(GNUTLS_LIBS) \
	$(JANSSON_LIBS) $(PTHREAD_LIBS)

if HAVE_CHECK
check_PROGRAMS += tests/bench/check_lg_hist
TESTS += tests/bench/check_lg_hist
tests_bench_check_lg_hist_SOURCES = tests/bench/check_lg_hist.c \
	tests/bench/lg_hist.c tests/bench/loadgen.h
tests_bench_check_lg_hist_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) \
	$(CHECK_CFLAGS)
tests_bench_check_lg_hist_LDADD = $(CHECK_LIBS)
endif

# The floor: GnuTLS alone (handshake, verification, a local answer).
noinst_PROGRAMS += tests/bench/eg-floor
tests_bench_eg_floor_SOURCES = tests/bench/eg-floor.c
tests_bench_eg_floor_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_bench_eg_floor_LDADD = $(GNUTLS_LIBS)

# make bench [BENCH_SECONDS=10 BENCH_REPS=1 ...]: see tests/bench/run.sh.
# make bench-smoke: every server, load and pair for BENCH_SMOKE_SECONDS
# each, correctness only, no thresholds (CI).
BENCH_SECONDS = 10
BENCH_SMOKE_SECONDS = 1
BENCH_ENV = LOADGEN=$(abs_builddir)/tests/bench/eg-loadgen \
	FLOOR=$(abs_builddir)/tests/bench/eg-floor \
	VERIFIER=$(abs_builddir)/daemon/edgeguard-verifier \
	FORWARDER=$(abs_builddir)/daemon/edgeguard-forwarder \
	EDGEGUARD=$(abs_builddir)/daemon/edgeguard \
	BENCH_SECONDS=$(BENCH_SECONDS)
EG_BENCH_DEPS = tests/bench/eg-loadgen tests/bench/eg-floor \
	daemon/edgeguard-verifier daemon/edgeguard-forwarder daemon/edgeguard
bench: $(EG_BENCH_DEPS)
	$(BENCH_ENV) $(SHELL) $(srcdir)/tests/bench/run.sh
bench-smoke: $(EG_BENCH_DEPS)
	$(BENCH_ENV) BENCH_SECONDS=$(BENCH_SMOKE_SECONDS) BENCH_SMOKE=1 \
		BENCH_IDLE_CONNS=200 BENCH_QUIET_WAIT=0 \
		$(SHELL) $(srcdir)/tests/bench/run.sh
# make bench-profile [BENCH_TEST=ka BENCH_PROFILER=perf|callgrind|massif]:
# the verifier alone under one of those loads, and its profile.
bench-profile: $(EG_BENCH_DEPS)
	$(BENCH_ENV) $(SHELL) $(srcdir)/tests/bench/profile.sh
.PHONY: bench bench-smoke bench-profile
EXTRA_DIST += tests/bench/README.md tests/bench/run.sh tests/bench/profile.sh \
	tests/bench/lib.sh tests/bench/pair.lua \
	tests/bench/servers.sh tests/bench/table.py
