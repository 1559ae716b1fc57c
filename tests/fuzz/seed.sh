#!/bin/sh
# Seeds the fuzzing corpora: seed.sh TOP_SRCDIR OUTDIR
set -eu
top=$1
out=$2
mkdir -p "$out/fuzz_policy" "$out/fuzz_identity" "$out/fuzz_request"
cp "$top"/conf/*.conf "$out/fuzz_policy/"
tmpl=$(mktemp)
trap 'rm -f "$tmpl" "$out/ca.key" "$out/leaf.key"' EXIT
printf 'cn = "fuzz CA"\nca\ncert_signing_key\nexpiration_days = 3650\n' >"$tmpl"
"$CERTTOOL" --generate-privkey --key-type ecdsa --outfile "$out/ca.key" 2>/dev/null
"$CERTTOOL" --generate-self-signed --load-privkey "$out/ca.key" \
	--template "$tmpl" --outfile "$out/ca.pem" 2>/dev/null
printf 'cn = "edge"\ndns_name = "a.example.com"\ndns_name = "*.example.com"\nuri = "spiffe://example.net/edge/1"\nip_address = "10.1.2.3"\nemail = "a@example.com"\norganization = "Example"\nunit = "edge"\ntls_www_client\nexpiration_days = 30\n' >"$tmpl"
"$CERTTOOL" --generate-privkey --key-type ecdsa --outfile "$out/leaf.key" 2>/dev/null
"$CERTTOOL" --generate-certificate --load-privkey "$out/leaf.key" \
	--load-ca-certificate "$out/ca.pem" --load-ca-privkey "$out/ca.key" \
	--template "$tmpl" --outder --outfile "$out/fuzz_identity/leaf.der" 2>/dev/null
"$CERTTOOL" --certificate-info --infile "$out/ca.pem" --outder \
	--outfile "$out/fuzz_identity/ca.der" 2>/dev/null
printf 'x.example.com\000/admin/../%%2e%%2e/x?y' >"$out/fuzz_request/1"
printf '[::1]:443\000http://h/admin//a/./b#f' >"$out/fuzz_request/2"
printf 'A.EXAMPLE.COM.\000/%%61dmin%%00' >"$out/fuzz_request/3"
