# Check suites: one per library / daemon module. Certificates are minted at
# test time by testcerts.c through daemon/pki.c.
if HAVE_CHECK
EG_UNIT_CFLAGS = $(AM_CFLAGS) $(EG_LIB_CFLAGS) $(CHECK_CFLAGS) \
	-DTEST_SRCDIR='"$(abs_top_srcdir)/tests/unit"'
EG_UNIT_LDADD = tests/unit/libtesthelpers.la tests/unit/libtestcerts.la \
	lib/libedgeguard-internal.la \
	daemon/libegtool.la $(CHECK_LIBS) $(GNUTLS_LIBS) $(LIBCONFIG_LIBS) \
	$(JANSSON_LIBS)

# Every suite's main().
noinst_LTLIBRARIES += tests/unit/libtesthelpers.la
tests_unit_libtesthelpers_la_SOURCES = tests/unit/test_helpers.c \
	tests/unit/test_helpers.h
tests_unit_libtesthelpers_la_CFLAGS = $(EG_UNIT_CFLAGS)

noinst_LTLIBRARIES += tests/unit/libtestcerts.la
tests_unit_libtestcerts_la_SOURCES = tests/unit/testcerts.c tests/unit/testcerts.h
tests_unit_libtestcerts_la_CFLAGS = $(EG_UNIT_CFLAGS)

# Fixtures of the audit suites.
noinst_LTLIBRARIES += tests/unit/libaudithelpers.la
tests_unit_libaudithelpers_la_SOURCES = tests/unit/audit_helpers.c \
	tests/unit/audit_helpers.h
tests_unit_libaudithelpers_la_CFLAGS = $(EG_UNIT_CFLAGS)
EG_AUDIT_LDADD = tests/unit/libaudithelpers.la $(EG_UNIT_LDADD)

EG_UNIT_TESTS = \
	tests/unit/check_reason \
	tests/unit/check_identity \
	tests/unit/check_match \
	tests/unit/check_path \
	tests/unit/check_policy_config \
	tests/unit/check_decide \
	tests/unit/check_audit_format \
	tests/unit/check_audit_config \
	tests/unit/check_audit_aggregate \
	tests/unit/check_audit_log \
	tests/unit/check_audit_cli \
	tests/unit/check_pki

check_PROGRAMS += $(EG_UNIT_TESTS)
TESTS += $(EG_UNIT_TESTS)

tests_unit_check_reason_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_reason_LDADD = $(EG_UNIT_LDADD)
tests_unit_check_identity_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_identity_LDADD = $(EG_UNIT_LDADD)
tests_unit_check_match_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_match_LDADD = $(EG_UNIT_LDADD)
tests_unit_check_path_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_path_LDADD = $(EG_UNIT_LDADD)
tests_unit_check_policy_config_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_policy_config_LDADD = $(EG_UNIT_LDADD)
tests_unit_check_decide_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_decide_LDADD = $(EG_UNIT_LDADD)
tests_unit_check_audit_format_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_audit_format_LDADD = $(EG_AUDIT_LDADD)
tests_unit_check_audit_config_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_audit_config_LDADD = $(EG_AUDIT_LDADD)
tests_unit_check_audit_aggregate_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_audit_aggregate_LDADD = $(EG_AUDIT_LDADD)
tests_unit_check_audit_log_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_audit_log_LDADD = $(EG_AUDIT_LDADD)
tests_unit_check_audit_cli_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_audit_cli_LDADD = $(EG_AUDIT_LDADD)
tests_unit_check_pki_CFLAGS = $(EG_UNIT_CFLAGS)
tests_unit_check_pki_LDADD = $(EG_UNIT_LDADD)
endif
