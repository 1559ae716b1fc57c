# libFuzzer targets (configure --enable-fuzzing --enable-sanitizers CC=clang).
# `make fuzz-smoke` seeds a corpus per target (certificates made by
# certtool, the example configs, hostile requests) and runs each target for
# EG_FUZZ_SECONDS; CI does this on every run.
EXTRA_DIST += tests/fuzz/seed.sh tests/fuzz/fuzz_common.h

if ENABLE_FUZZING
EG_FUZZ_TARGETS = tests/fuzz/fuzz_policy tests/fuzz/fuzz_identity \
	tests/fuzz/fuzz_request tests/fuzz/fuzz_http1 tests/fuzz/fuzz_authz
noinst_PROGRAMS += $(EG_FUZZ_TARGETS)
EG_FUZZ_CFLAGS = $(AM_CFLAGS) $(EG_LIB_CFLAGS) -fsanitize=fuzzer \
	-DFUZZ_CA='"$(abs_builddir)/fuzz-corpus/ca.pem"'
EG_FUZZ_LDADD = lib/libedgeguard-internal.la $(GNUTLS_LIBS) \
	$(LIBCONFIG_LIBS) $(JANSSON_LIBS)
tests_fuzz_fuzz_policy_CFLAGS = $(EG_FUZZ_CFLAGS)
tests_fuzz_fuzz_policy_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_policy_LDADD = $(EG_FUZZ_LDADD)
tests_fuzz_fuzz_identity_CFLAGS = $(EG_FUZZ_CFLAGS)
tests_fuzz_fuzz_identity_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_identity_LDADD = $(EG_FUZZ_LDADD)
tests_fuzz_fuzz_request_CFLAGS = $(EG_FUZZ_CFLAGS)
tests_fuzz_fuzz_request_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_request_LDADD = $(EG_FUZZ_LDADD)
tests_fuzz_fuzz_http1_CFLAGS = $(EG_FUZZ_CFLAGS) $(LLHTTP_CFLAGS)
tests_fuzz_fuzz_http1_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_http1_LDADD = daemon/core/libegcore.la $(EG_FUZZ_LDADD)
tests_fuzz_fuzz_authz_SOURCES = tests/fuzz/fuzz_authz.c \
	daemon/verifier/authz_cert.c
tests_fuzz_fuzz_authz_CFLAGS = $(EG_FUZZ_CFLAGS)
tests_fuzz_fuzz_authz_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_authz_LDADD = $(EG_FUZZ_LDADD)

EG_FUZZ_SECONDS = 20
fuzz-smoke: $(EG_FUZZ_TARGETS)
	@CERTTOOL='$(CERTTOOL)' $(SHELL) $(srcdir)/tests/fuzz/seed.sh \
		'$(abs_top_srcdir)' fuzz-corpus
	@for t in $(EG_FUZZ_TARGETS); do \
		name=$$(basename $$t); \
		echo "fuzzing $$name for $(EG_FUZZ_SECONDS) s"; \
		LSAN_OPTIONS=suppressions=$(abs_top_srcdir)/tests/lsan.supp \
		./$$t -max_total_time=$(EG_FUZZ_SECONDS) -max_len=8192 \
			-print_final_stats=0 fuzz-corpus/$$name \
			>fuzz-$$name.log 2>&1 || { tail -n 40 fuzz-$$name.log; \
			echo "fuzz: 0 passed, 1 failed"; exit 1; }; \
	done; echo "fuzz: $(words $(EG_FUZZ_TARGETS)) passed, 0 failed"
else
fuzz-smoke:
	@echo "fuzzing is not enabled: configure --enable-fuzzing CC=clang"; exit 1
endif
.PHONY: fuzz-smoke
