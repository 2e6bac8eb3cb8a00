package secret

import "errors"

// Sentinel errors; branch on them with errors.Is. Errors from this package name the reference or the
// member at fault and never contain secret material.
var (
	// ErrNotFound is returned when a reference names a secret, file or environment variable that does
	// not exist.
	ErrNotFound = errors.New("secret not found")
	// ErrMalformed is returned when a secret's text is not in the expected Secrets Manager JSON format,
	// or a certificate or key inside it cannot be decoded.
	ErrMalformed = errors.New("malformed secret")
	// ErrIncorrectPassword is returned when an encrypted private key does not decrypt with the
	// secret's privateKeyPassword.
	ErrIncorrectPassword = errors.New("incorrect privateKeyPassword for the encrypted private key")
	// ErrUnsupportedEncryption is returned for an encrypted private key whose algorithm is not handled.
	ErrUnsupportedEncryption = errors.New("unsupported private key encryption")
	// ErrBadReference is returned for a reference that is not a Secrets Manager ARN, file:// URL or env:.
	ErrBadReference = errors.New("unsupported secret reference")
)
