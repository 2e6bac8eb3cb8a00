#!/usr/bin/env bash
# pki.sh DIR — generates Sluice's test PKI into DIR with openssl:
#   a CA, a broker certificate for localhost/127.0.0.1 (and the broker's PEM
#   keystore/truststore), a client certificate whose key exists as plain
#   PKCS#8, as encrypted PKCS#8 with PBES1 (PBE-MD5-DES, PBE-SHA1-DES), with the
#   PKCS#12 scheme PBE-SHA1-3DES and with PBES2 (AES-256-CBC), an unrelated
#   "other" CA and client, and ready secret JSON files in the Secrets Manager
#   formats (good ones and broken ones for failure tests).
# Everything here is test material, regenerated on every broker start and never
# committed. The names and passwords are mirrored in internal/kafkatest/pki.go.
set -euo pipefail

out=${1:?usage: pki.sh DIR}
command -v openssl >/dev/null || { echo "pki.sh: openssl is needed to generate the test PKI" >&2; exit 1; }
mkdir -p "$out"
cd "$out"

KEY_PASS=sluice-key-pass
WRONG=not-the-password
DAYS=3650
# OpenSSL 3 moved the single-DES and MD5 PBES1 schemes to the legacy provider.
LEGACY=()
if openssl list -providers -provider legacy >/dev/null 2>&1; then
	LEGACY=(-provider legacy -provider default)
fi

quiet() { "$@" >/dev/null 2>&1 || { echo "pki.sh: failed: $*" >&2; "$@"; exit 1; }; }

# ca NAME CN: a self-signed CA certificate NAME.pem with its key NAME-key.pem.
ca() {
	quiet openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
		-keyout "$1-key.pem" -out "$1.pem" -subj "/O=Sluice tests/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf NAME CN CA EXTENSIONS: NAME-cert.pem signed by CA, key NAME-key.pem (PKCS#8).
leaf() {
	quiet openssl req -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "/O=Sluice tests/CN=$2"
	printf '%s\n' "$4" >"$1.ext"
	quiet openssl x509 -req -sha256 -days "$DAYS" -in "$1.csr" -CA "$3.pem" -CAkey "$3-key.pem" \
		-CAcreateserial -out "$1-cert.pem" -extfile "$1.ext"
	rm -f "$1.csr" "$1.ext"
}

ca ca "Sluice Test CA"
ca other-ca "Sluice Other CA"

leaf broker localhost ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf client sluice-client ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
leaf other-client sluice-other-client other-ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

# Chains as Pipes wants them: leaf first, ending with the root.
cat broker-cert.pem ca.pem >broker.pem
cat client-cert.pem ca.pem >client.pem
cat other-client-cert.pem other-ca.pem >other-client.pem
# The broker's PEM keystore (key + chain) and truststore (the CA).
cat broker-key.pem broker.pem >broker-keystore.pem
cp ca.pem broker-truststore.pem

enc() { # enc OUT ARGS...: the client key as encrypted PKCS#8
	local o=$1
	shift
	quiet openssl pkcs8 -topk8 "${LEGACY[@]}" -in client-key.pem -out "$o" -passout "pass:$KEY_PASS" "$@"
	grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$o"
}
enc client-key-pbes1-md5-des.pem -v1 PBE-MD5-DES
enc client-key-pbes1-sha1-des.pem -v1 PBE-SHA1-DES
enc client-key-pbes1-sha1-3des.pem -v1 PBE-SHA1-3DES
enc client-key-pbes2.pem -v2 aes-256-cbc -v2prf hmacWithSHA256

# js FILE: FILE's content as a JSON string (PEM holds no quotes or backslashes).
js() { printf '"'; awk 'BEGIN { ORS = "\\n" } { print }' "$1"; printf '"'; }
userpass() { printf '{"username":"%s","password":"%s"}\n' "$1" "$2"; }
mtls() { # mtls CERT KEY [PASSWORD]
	printf '{"certificate":%s,"privateKey":%s' "$(js "$1")" "$(js "$2")"
	if [ $# -ge 3 ]; then printf ',"privateKeyPassword":"%s"' "$3"; fi
	printf '}\n'
}

userpass sluice-plain plain-secret >basic.json
userpass sluice-scram256 scram256-secret >scram256.json
userpass sluice-scram512 scram512-secret >scram512.json
mtls client.pem client-key.pem >mtls-plain.json
mtls client.pem client-key-pbes1-md5-des.pem "$KEY_PASS" >mtls-pbes1-md5-des.json
mtls client.pem client-key-pbes1-sha1-des.pem "$KEY_PASS" >mtls-pbes1-sha1-des.json
mtls client.pem client-key-pbes1-sha1-3des.pem "$KEY_PASS" >mtls-pbes1-sha1-3des.json
mtls client.pem client-key-pbes2.pem "$KEY_PASS" >mtls-pbes2.json
printf '{"certificate":%s}\n' "$(js ca.pem)" >rootca.json

userpass sluice-plain "$WRONG" >basic-wrong-password.json
userpass sluice-scram256 "$WRONG" >scram256-wrong-password.json
userpass sluice-scram512 "$WRONG" >scram512-wrong-password.json
mtls client.pem client-key-pbes2.pem "$WRONG" >mtls-wrong-key-password.json
mtls other-client.pem other-client-key.pem >mtls-untrusted.json
mtls client.pem other-client-key.pem >mtls-key-mismatch.json
printf '{"certificate":%s}\n' "$(js other-ca.pem)" >rootca-untrusted.json
printf 'username=sluice-plain password=plain-secret\n' >malformed-json.json
printf '{"username":"sluice-plain"}\n' >malformed-basic.json
printf '{"certificate":"not a certificate","privateKey":%s}\n' "$(js client-key.pem)" >malformed-mtls.json
printf '{"certificate":"-----BEGIN CERTIFICATE-----\\nnot base64\\n-----END CERTIFICATE-----\\n"}\n' >malformed-rootca.json

rm -f ./*.srl
chmod 600 ./*-key*.pem
