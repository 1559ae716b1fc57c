# libFuzzer targets (configure --enable-fuzzing CC=clang).
EXTRA_DIST += tests/fuzz/run-fuzzers.sh
