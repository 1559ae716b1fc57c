EXTRA_DIST += conf/demo.sh conf/demo-policy.conf conf/policy.conf
