EXTRA_DIST += packaging/dependencies.txt packaging/install-deps.sh
