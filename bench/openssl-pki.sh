#!/usr/bin/env bash
# The same PKI provision builds in the benchmark, made the way a competent person would script it with the
# openssl CLI: a root and an intermediate (ECDSA P-256), then COUNT server leaves with their own keys, SANs,
# extensions and validity. Two openssl processes per leaf (key + CSR in one `req`, then `x509 -req`).
# Usage: openssl-pki.sh OUTDIR COUNT ec|rsa
set -euo pipefail
out=$1 count=$2 leafkey=$3
mkdir -p "$out"
cd "$out"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
if [ "$leafkey" = rsa ]; then leaf=(-newkey rsa:2048) ku="digitalSignature,keyEncipherment"; else leaf=("${ec[@]}") ku="digitalSignature"; fi

openssl req -x509 -new "${ec[@]}" -nodes -keyout root.key -out root.pem -days 3650 -sha256 \
  -subj "/O=Bench/CN=Bench Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" 2>/dev/null

cat > ca.ext <<EXT
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl req -new "${ec[@]}" -nodes -keyout int.key -out int.csr -subj "/O=Bench/CN=Bench Intermediate CA" 2>/dev/null
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -days 730 -sha256 -extfile ca.ext -out int.pem 2>/dev/null

for ((i = 0; i < count; i++)); do
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,%s\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:s%d.test\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$ku" "$i" > "s$i.ext"
  openssl req -new "${leaf[@]}" -nodes -keyout "s$i.key" -out "s$i.csr" -subj "/O=Bench/CN=s$i.test" 2>/dev/null
  openssl x509 -req -in "s$i.csr" -CA int.pem -CAkey int.key -days 90 -sha256 -extfile "s$i.ext" -out "s$i.pem" 2>/dev/null
  cat "s$i.pem" int.pem > "s$i.fullchain.pem"
done
