package kafkatest

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"testing"
)

// TestPKIKeys checks that every encrypted client key uses the scheme its name
// says and decrypts, with KeyPassword, to the plain key.
func TestPKIKeys(t *testing.T) {
	p := PKI(t)
	plain, err := x509.ParsePKCS8PrivateKey(readPEM(t, p.ClientKey, "PRIVATE KEY"))
	if err != nil {
		t.Fatalf("ParsePKCS8PrivateKey(%s): %v", p.ClientKey, err)
	}
	tests := []struct {
		name, file string
		oid        asn1.ObjectIdentifier
	}{
		{"pbes1 md5 des", p.ClientKeyPBES1MD5DES, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3}},
		{"pbes1 sha1 des", p.ClientKeyPBES1SHA1DES, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 10}},
		{"pkcs12 sha1 3des", p.ClientKeyPBES1SHA13DES, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}},
		{"pbes2", p.ClientKeyPBES2, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := readPEM(t, tt.file, "ENCRYPTED PRIVATE KEY")
			var info struct {
				Algo pkix.AlgorithmIdentifier
				Data []byte
			}
			if _, err := asn1.Unmarshal(der, &info); err != nil {
				t.Fatalf("parsing EncryptedPrivateKeyInfo in %s: %v", tt.file, err)
			}
			if !info.Algo.Algorithm.Equal(tt.oid) {
				t.Errorf("encryption scheme of %s = %v, want %v", tt.file, info.Algo.Algorithm, tt.oid)
			}
			if _, err := exec.LookPath("openssl"); err != nil {
				t.Skip("openssl is needed to check the decryption")
			}
			args := []string{"pkey", "-in", tt.file, "-passin", "pass:" + KeyPassword}
			out, err := exec.Command("openssl", append(args, "-provider", "legacy", "-provider", "default")...).Output()
			if err != nil {
				out, err = exec.Command("openssl", args...).Output()
			}
			if err != nil {
				t.Fatalf("decrypting %s with openssl: %v", tt.file, err)
			}
			b, _ := pem.Decode(out) // openssl pkey writes PKCS#8 PEM
			if b == nil {
				t.Fatalf("openssl pkey wrote no PEM for %s", tt.file)
			}
			key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				t.Fatalf("parsing the key decrypted from %s: %v", tt.file, err)
			}
			if !plain.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key) {
				t.Errorf("%s does not decrypt to the key in %s", tt.file, p.ClientKey)
			}
		})
	}
}

// TestPKISecrets checks the members of every secret JSON file.
func TestPKISecrets(t *testing.T) {
	p := PKI(t)
	s := p.Secrets
	tests := []struct {
		file string
		want map[string]string // member -> value, or "PEM" for any PEM block
	}{
		{s.Basic, map[string]string{"username": PlainUser, "password": PlainPassword}},
		{s.Scram256, map[string]string{"username": Scram256User, "password": Scram256Password}},
		{s.Scram512, map[string]string{"username": Scram512User, "password": Scram512Password}},
		{s.BasicWrongPassword, map[string]string{"username": PlainUser, "password": WrongPassword}},
		{s.Scram256WrongPassword, map[string]string{"username": Scram256User, "password": WrongPassword}},
		{s.Scram512WrongPassword, map[string]string{"username": Scram512User, "password": WrongPassword}},
		{s.MTLSPlain, map[string]string{"certificate": "PEM", "privateKey": "PEM"}},
		{s.MTLSPBES1MD5DES, map[string]string{"certificate": "PEM", "privateKey": "PEM", "privateKeyPassword": KeyPassword}},
		{s.MTLSPBES1SHA1DES, map[string]string{"certificate": "PEM", "privateKey": "PEM", "privateKeyPassword": KeyPassword}},
		{s.MTLSPBES1SHA13DES, map[string]string{"certificate": "PEM", "privateKey": "PEM", "privateKeyPassword": KeyPassword}},
		{s.MTLSPBES2, map[string]string{"certificate": "PEM", "privateKey": "PEM", "privateKeyPassword": KeyPassword}},
		{s.MTLSWrongKeyPassword, map[string]string{"certificate": "PEM", "privateKey": "PEM", "privateKeyPassword": WrongPassword}},
		{s.MTLSUntrusted, map[string]string{"certificate": "PEM", "privateKey": "PEM"}},
		{s.MTLSKeyMismatch, map[string]string{"certificate": "PEM", "privateKey": "PEM"}},
		{s.RootCA, map[string]string{"certificate": "PEM"}},
		{s.RootCAUntrusted, map[string]string{"certificate": "PEM"}},
		{s.MalformedBasic, map[string]string{"username": PlainUser}},
	}
	for _, tt := range tests {
		var got map[string]string
		data, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &got); err != nil {
			t.Errorf("json.Unmarshal(%s): %v", tt.file, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s has members %v, want %v", tt.file, keys(got), keys(tt.want))
		}
		for k, want := range tt.want {
			if want == "PEM" {
				if b, _ := pem.Decode([]byte(got[k])); b == nil {
					t.Errorf("%s: %s is not PEM", tt.file, k)
				}
			} else if got[k] != want {
				t.Errorf("%s: %s = %q, want %q", tt.file, k, got[k], want)
			}
		}
	}
	if data, err := os.ReadFile(s.MalformedJSON); err != nil || json.Valid(data) {
		t.Errorf("%s is valid JSON (read error %v), want malformed", s.MalformedJSON, err)
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func readPEM(t *testing.T, file, typ string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != typ {
		t.Fatalf("%s: no %s PEM block", file, typ)
	}
	return b.Bytes
}
