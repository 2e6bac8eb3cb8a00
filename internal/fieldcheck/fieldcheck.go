// Package fieldcheck holds the checks that the pipe definition (internal/pipe) and the plugins' Validate
// functions share: strict decoding of a parameter member with per-field problems, lengths, patterns,
// enumerations, ranges, secret references, host:port lists, Kafka credentials and dynamic (JSON-path)
// parameter values. Every check returns the problems it found as plugin.FieldErrors (nil when none), named
// by the field path it was given, so that a Validate appends them to its own list. It does no I/O.
package fieldcheck

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

// FieldError is the problem type of every check.
type FieldError = plugin.FieldError

var (
	hostPort  = `(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]):([0-9]{1,5})`
	reHost    = regexp.MustCompile(`^` + hostPort + `$`)
	reSecret  = regexp.MustCompile(`^arn:aws([a-z]|\-)*:secretsmanager:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}):(\d{12}):secret:.+$`)
	reEnvName = regexp.MustCompile(`^env:[A-Za-z_][A-Za-z0-9_]*$`)
	reTopic   = regexp.MustCompile(`^[a-zA-Z0-9._\-]{1,249}$`)
)

// Length checks that s has min..max characters.
func Length(field, s string, min, max int) []FieldError {
	switch n := utf8.RuneCountInString(s); {
	case n < min && min == 1:
		return []FieldError{plugin.Errorf(field, "must not be empty")}
	case n < min || n > max:
		return []FieldError{plugin.Errorf(field, "must be %d..%d characters, is %d", min, max, n)}
	}
	return nil
}

// Match checks a non-empty s against re, reporting msg when it does not match.
func Match(field, s string, re *regexp.Regexp, msg string) []FieldError {
	if s != "" && !re.MatchString(s) {
		return []FieldError{plugin.Errorf(field, "%s", msg)}
	}
	return nil
}

// Enum checks that s is one of allowed.
func Enum(field, s string, allowed ...string) []FieldError {
	if slices.Contains(allowed, s) {
		return nil
	}
	return []FieldError{plugin.Errorf(field, "must be one of %s, not %q", strings.Join(allowed, ", "), s)}
}

// IntRange checks that n, when given, is in min..max.
func IntRange(field string, n *int, min, max int) []FieldError {
	if n != nil && (*n < min || *n > max) {
		return []FieldError{plugin.Errorf(field, "must be %d..%d, is %d", min, max, *n)}
	}
	return nil
}

// IsPath reports whether a parameter value is meant as a JSON path. It is deliberately wider than
// transform.IsPath (any value starting with "$." or equal to "$"), so that a malformed path is reported
// instead of being sent literally.
func IsPath(s string) bool { return strings.HasPrefix(s, "$.") || s == "$" }

// Dynamic checks a parameter value that may be a JSON path (parsed as one) or a static value (matched
// against re, msg when it does not match).
func Dynamic(field, val string, re *regexp.Regexp, msg string) []FieldError {
	if IsPath(val) {
		if _, err := transform.ParsePath(val); err != nil {
			return []FieldError{plugin.Errorf(field, "%v", err)}
		}
		return nil
	}
	return Match(field, val, re, msg)
}

// CheckSecretRef checks a secret reference: a Secrets Manager secret ARN, file:///path or env:NAME.
func CheckSecretRef(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case len(s) > 1600:
		return errors.New("must be at most 1600 characters")
	case strings.HasPrefix(s, "file://"):
		u, err := url.Parse(s)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return errors.New("file secret reference must be file:///absolute/path")
		}
		return nil
	case strings.HasPrefix(s, "env:"):
		if !reEnvName.MatchString(s) {
			return errors.New("env secret reference must be env:NAME")
		}
		return nil
	case reSecret.MatchString(s):
		return nil
	}
	return errors.New("must be a Secrets Manager secret ARN, file:///path or env:NAME")
}

// SecretRef checks the secret reference in field.
func SecretRef(field, s string) []FieldError {
	if err := CheckSecretRef(s); err != nil {
		return []FieldError{plugin.Errorf(field, "%v", err)}
	}
	return nil
}

// CheckHostPort checks a "host:port" string (DNS-label host name or IPv4 address, port 1..65535).
func CheckHostPort(s string) error {
	m := reHost.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("%q is not host:port (DNS-label host name or IPv4 address, numeric port)", s)
	}
	return CheckPort(m[len(m)-1])
}

// CheckBroker checks a Kafka target's "host:port": a DNS name, IPv4 or bracketed IPv6 address, and a port
// 1..65535.
func CheckBroker(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", s)
	}
	if net.ParseIP(host) == nil && !reHost.MatchString(host+":1") {
		return fmt.Errorf("%q: host %q is not a DNS name or IP address", s, host)
	}
	return CheckPort(port)
}

// CheckPort checks a numeric port 1..65535.
func CheckPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is out of range 1..65535", p)
	}
	return nil
}

// CheckTopic checks a Kafka topic name: 1..249 of [a-zA-Z0-9._-], not starting with "." (the Pipes pattern
// [^.]([a-zA-Z0-9\-_.]+) read with Kafka's own rules, so one-character topics are allowed).
func CheckTopic(s string) error {
	if !reTopic.MatchString(s) {
		return errors.New("must be 1..249 characters of a-z, A-Z, 0-9, '.', '_' and '-'")
	}
	if strings.HasPrefix(s, ".") {
		return errors.New("must not start with '.'")
	}
	return nil
}

// BootstrapServers checks AdditionalBootstrapServers: at most 2 "host:port" entries of at most 300
// characters.
func BootstrapServers(field string, servers []string) []FieldError {
	var out []FieldError
	if len(servers) > 2 {
		out = append(out, plugin.Errorf(field, "must have at most 2 entries, has %d", len(servers)))
	}
	for i, s := range servers {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(s) > 300 {
			out = append(out, plugin.Errorf(f, "must be at most 300 characters"))
		} else if err := CheckHostPort(s); err != nil {
			out = append(out, plugin.Errorf(f, "%v", err))
		}
	}
	return out
}

// Credentials checks a Kafka Credentials union: exactly one member, a valid secret reference.
func Credentials(field string, c *kafkaauth.Credentials) []FieldError {
	if c == nil {
		return nil
	}
	var out []FieldError
	set := 0
	for _, m := range []struct{ name, ref string }{{"BasicAuth", c.BasicAuth}, {"ClientCertificateTlsAuth", c.ClientCertificateTlsAuth},
		{"SaslScram256Auth", c.SaslScram256Auth}, {"SaslScram512Auth", c.SaslScram512Auth}} {
		if m.ref != "" {
			set++
			out = append(out, SecretRef(field+"."+m.name, m.ref)...)
		}
	}
	if set != 1 {
		out = append(out, plugin.Errorf(field, "must set exactly one of BasicAuth, SaslScram256Auth, SaslScram512Auth, ClientCertificateTlsAuth (has %d)", set))
	}
	return out
}
