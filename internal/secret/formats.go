package secret

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// BasicAuth is the SASL secret: {"username": "...", "password": "..."}.
type BasicAuth struct {
	Username string
	Password string
}

// String hides the password so that printing the value by mistake leaks nothing.
func (b BasicAuth) String() string {
	return "BasicAuth{Username: " + b.Username + ", Password: <redacted>}"
}

// ParseBasicAuth parses the SASL secret format. Both members are required.
func ParseBasicAuth(data []byte) (BasicAuth, error) {
	var s struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := decodeJSON(data, &s); err != nil {
		return BasicAuth{}, err
	}
	switch {
	case s.Username == nil || *s.Username == "":
		return BasicAuth{}, fmt.Errorf("%w: member \"username\" is missing or empty", ErrMalformed)
	case s.Password == nil || *s.Password == "":
		return BasicAuth{}, fmt.Errorf("%w: member \"password\" is missing or empty", ErrMalformed)
	}
	return BasicAuth{Username: *s.Username, Password: *s.Password}, nil
}

// ParseClientCertificate parses the mTLS secret format:
//
//	{"certificate": "<PEM chain: client, intermediates, root>",
//	 "privateKey": "<PKCS#8 PEM, PRIVATE KEY or ENCRYPTED PRIVATE KEY>",
//	 "privateKeyPassword": "<only for an encrypted key>"}
//
// The key must match the first certificate. PKCS#1 ("RSA PRIVATE KEY") and SEC 1 ("EC PRIVATE KEY")
// unencrypted keys are accepted too, as a convenience beyond Pipes; legacy OpenSSL-encrypted PEM
// ("Proc-Type: 4,ENCRYPTED") is not.
func ParseClientCertificate(data []byte) (tls.Certificate, error) {
	return parseClientCertificate(data, maxIterations)
}

func parseClientCertificate(data []byte, limit int) (tls.Certificate, error) {
	var s struct {
		Certificate        *string `json:"certificate"`
		PrivateKey         *string `json:"privateKey"`
		PrivateKeyPassword *string `json:"privateKeyPassword"`
	}
	if err := decodeJSON(data, &s); err != nil {
		return tls.Certificate{}, err
	}
	if s.Certificate == nil || strings.TrimSpace(*s.Certificate) == "" {
		return tls.Certificate{}, fmt.Errorf("%w: member \"certificate\" is missing or empty", ErrMalformed)
	}
	if s.PrivateKey == nil || strings.TrimSpace(*s.PrivateKey) == "" {
		return tls.Certificate{}, fmt.Errorf("%w: member \"privateKey\" is missing or empty", ErrMalformed)
	}
	chain, err := parseCertificates("certificate", *s.Certificate)
	if err != nil {
		return tls.Certificate{}, err
	}
	var password []byte
	if s.PrivateKeyPassword != nil {
		password = []byte(*s.PrivateKeyPassword)
	}
	key, err := parsePrivateKeyPEM([]byte(*s.PrivateKey), password, limit)
	if err != nil {
		return tls.Certificate{}, err
	}
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	pk, ok := key.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, fmt.Errorf("%w: member \"privateKey\" holds an unsupported key type %T", ErrMalformed, key)
	}
	if eq, ok := pk.Public().(equaler); !ok || !eq.Equal(chain[0].PublicKey) {
		return tls.Certificate{}, fmt.Errorf("%w: member \"privateKey\" does not match the first certificate in \"certificate\" (%s)",
			ErrMalformed, chain[0].Subject)
	}
	cert := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// ParseRootCA parses the server root CA secret format, {"certificate": "<PEM>"}; the member may hold
// several certificates.
func ParseRootCA(data []byte) ([]*x509.Certificate, error) {
	var s struct {
		Certificate *string `json:"certificate"`
	}
	if err := decodeJSON(data, &s); err != nil {
		return nil, err
	}
	if s.Certificate == nil || strings.TrimSpace(*s.Certificate) == "" {
		return nil, fmt.Errorf("%w: member \"certificate\" is missing or empty", ErrMalformed)
	}
	return parseCertificates("certificate", *s.Certificate)
}

// parsePrivateKeyPEM decodes one PEM private key: PKCS#8 plain or encrypted (see decryptPKCS8), or
// unencrypted PKCS#1/SEC 1. An encrypted key without a password is ErrMalformed (naming the missing
// privateKeyPassword); one whose password is wrong is ErrIncorrectPassword.
func parsePrivateKeyPEM(text, password []byte, limit int) (any, error) {
	block := firstPEM(text)
	if block == nil {
		return nil, fmt.Errorf("%w: member \"privateKey\" holds no PEM block", ErrMalformed)
	}
	if _, legacy := block.Headers["Proc-Type"]; legacy {
		return nil, fmt.Errorf("%w: member \"privateKey\" uses legacy OpenSSL PEM encryption; convert it to "+
			"encrypted PKCS#8 (openssl pkcs8 -topk8)", ErrUnsupportedEncryption)
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: member \"privateKey\" is not a valid PKCS#8 key", ErrMalformed)
		}
		return k, nil
	case "ENCRYPTED PRIVATE KEY":
		if len(password) == 0 {
			return nil, fmt.Errorf("%w: member \"privateKey\" is encrypted and \"privateKeyPassword\" is missing or empty", ErrMalformed)
		}
		der, err := decryptPKCS8(block.Bytes, password, limit)
		if err != nil {
			return nil, fmt.Errorf("decrypting member \"privateKey\": %w", err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			// The plaintext parsed as a DER SEQUENCE but not as a key: almost surely a wrong password
			// that happened to give valid padding.
			return nil, fmt.Errorf("decrypting member \"privateKey\": %w", ErrIncorrectPassword)
		}
		return k, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: member \"privateKey\" is not a valid PKCS#1 RSA key", ErrMalformed)
		}
		return k, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: member \"privateKey\" is not a valid SEC 1 EC key", ErrMalformed)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: member \"privateKey\" holds a PEM block of type %q, want PRIVATE KEY or ENCRYPTED PRIVATE KEY",
		ErrMalformed, block.Type)
}

// parseCertificates decodes every CERTIFICATE block of a PEM text; there must be at least one and
// nothing else but whitespace.
func parseCertificates(member, text string) ([]*x509.Certificate, error) {
	rest := normalizePEM([]byte(text))
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: member %q holds a PEM block of type %q, want CERTIFICATE", ErrMalformed, member, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: member %q: certificate %d: %v", ErrMalformed, member, len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: member %q has text that is not a PEM certificate after certificate %d", ErrMalformed, member, len(out))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: member %q holds no PEM certificate", ErrMalformed, member)
	}
	return out, nil
}

func firstPEM(text []byte) *pem.Block {
	block, _ := pem.Decode(normalizePEM(text))
	return block
}

// normalizePEM trims every line, because secrets pasted into consoles or YAML often carry indentation
// (the Pipes documentation's own CA example does) that encoding/pem rejects.
func normalizePEM(text []byte) []byte {
	lines := bytes.Split(text, []byte("\n"))
	out := make([]byte, 0, len(text))
	for _, l := range lines {
		out = append(out, bytes.TrimSpace(l)...)
		out = append(out, '\n')
	}
	return out
}

// decodeJSON decodes a secret's JSON object, turning decoder errors into messages that cannot quote
// the secret (encoding/json's syntax errors quote the offending character).
func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%w: not a JSON object (syntax error at byte %d)", ErrMalformed, se.Offset)
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%w: member %q must be a string", ErrMalformed, te.Field)
	}
	return fmt.Errorf("%w: not a JSON object", ErrMalformed)
}
