#!/bin/sh
# Makes the test PKI in DIR with certtool (gnutls-bin): a CA, a server
# certificate for 127.0.0.1, a client certificate in a PKCS#12 bundle with the
# CA (password "secret", as the FMC hands out), and an unrelated second CA;
# server certificates with the wrong name (named.*: CN 127.0.0.1 but SAN
# DNS:intruder.example, from the trusted CA) and from the wrong CA (rogue.*).
set -eu
dir=$1
cd "$dir"
cat > ca.tmpl <<T
cn = "eStreamer test CA"
ca
cert_signing_key
expiration_days = 3
T
cat > server.tmpl <<T
cn = "127.0.0.1"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
encryption_key
expiration_days = 3
T
cat > client.tmpl <<T
cn = "127.0.0.1"
ip_address = "127.0.0.1"
tls_www_client
signing_key
expiration_days = 3
T
cat > named.tmpl <<T
cn = "127.0.0.1"
dns_name = "intruder.example"
tls_www_server
signing_key
encryption_key
expiration_days = 3
T
for k in ca other-ca server client named rogue; do
	certtool --generate-privkey --key-type=ecdsa --outfile $k.key >/dev/null 2>&1
done
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem >/dev/null 2>&1
certtool --generate-self-signed --load-privkey other-ca.key --template ca.tmpl --outfile other-ca.pem >/dev/null 2>&1
certtool --generate-certificate --load-privkey server.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template server.tmpl --outfile server.pem >/dev/null 2>&1
certtool --generate-certificate --load-privkey named.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template named.tmpl --outfile named.pem >/dev/null 2>&1
certtool --generate-certificate --load-privkey rogue.key --load-ca-certificate other-ca.pem \
	--load-ca-privkey other-ca.key --template server.tmpl --outfile rogue.pem >/dev/null 2>&1
certtool --generate-certificate --load-privkey client.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template client.tmpl --outfile client.pem >/dev/null 2>&1
certtool --to-p12 --load-privkey client.key --load-certificate client.pem --load-ca-certificate ca.pem \
	--p12-name client --password secret --outder --outfile client.p12 >/dev/null 2>&1
echo secret > password.txt
