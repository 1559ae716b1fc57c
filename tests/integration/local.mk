# Shell integration tests against real tools on loopback (exit 77 = skip,
# 99 = hard error, as in hitch).
EG_INTEGRATION_TESTS = \
	tests/integration/cli-demo.sh

TESTS += $(EG_INTEGRATION_TESTS)
EXTRA_DIST += $(EG_INTEGRATION_TESTS) tests/integration/lib.sh
