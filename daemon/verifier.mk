# edgeguard-verifier (issue 3): filled in by its module.
