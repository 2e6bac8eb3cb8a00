package pipe

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Endpoint is a parsed Target, Enrichment or DeadLetterConfig.Arn string.
type Endpoint struct {
	// Kind is "file", "http", "https", "kafka", or the service of an ARN ("sqs", ...), as plugin.Kind.
	Kind string
	// Path is the file of a file:// endpoint.
	Path string
	// URL is the URL of an http(s):// endpoint (its path may hold "*" wildcards).
	URL *url.URL
	// Fsync is the file endpoint's fsync option ("batch" or "never"; "" when not given).
	Fsync string
	// Brokers and Topic are the parts of kafka://host:port[,host:port...]/topic.
	Brokers []string
	Topic   string
	// ARN is the whole string of an ARN endpoint.
	ARN string
}

// IsHTTP reports whether the endpoint is an http:// or https:// URL.
func (e Endpoint) IsHTTP() bool { return e.Kind == "http" || e.Kind == "https" }

var (
	hostPort  = `(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]):([0-9]{1,5})`
	reSmk     = regexp.MustCompile(`^smk://` + hostPort + `$`)
	reHost    = regexp.MustCompile(`^` + hostPort + `$`)
	reARN     = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-]+):([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?)?:(\d{12})?:(.+)$`)
	reTopic   = regexp.MustCompile(`^[a-zA-Z0-9._\-]{1,249}$`)
	reSecret  = regexp.MustCompile(`^arn:aws([a-z]|\-)*:secretsmanager:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}):(\d{12}):secret:.+$`)
	reEnvName = regexp.MustCompile(`^env:[A-Za-z_][A-Za-z0-9_]*$`)
)

// validHostPort checks a "host:port" string (DNS-label host, port 1..65535).
func validHostPort(s string) error {
	m := reHost.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("%q is not host:port (DNS-label host name or IPv4 address, numeric port)", s)
	}
	return validPort(m[len(m)-1])
}

func validPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is out of range 1..65535", p)
	}
	return nil
}

// validBroker checks a Kafka target's "host:port": a DNS name, IPv4 or bracketed IPv6 address, and a
// port 1..65535 (as the Kafka target parses it).
func validBroker(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", s)
	}
	if net.ParseIP(host) == nil && !reHost.MatchString(host+":1") {
		return fmt.Errorf("%q: host %q is not a DNS name or IP address", s, host)
	}
	return validPort(port)
}

// validTopic checks a Kafka topic name: 1..249 of [a-zA-Z0-9._-], not starting with "." (the Pipes
// pattern [^.]([a-zA-Z0-9\-_.]+) read with Kafka's own rules, so one-character topics are allowed).
func validTopic(s string) error {
	if !reTopic.MatchString(s) {
		return errors.New("must be 1..249 characters of a-z, A-Z, 0-9, '.', '_' and '-'")
	}
	if strings.HasPrefix(s, ".") {
		return errors.New("must not start with '.'")
	}
	return nil
}

// ParseSource parses "smk://host:port" and returns the broker address "host:port".
func ParseSource(s string) (string, error) {
	if !strings.HasPrefix(s, "smk://") {
		if reARN.MatchString(s) {
			//lint:ignore ST1005 the message starts with the product's name, a proper noun
			return "", errors.New("Sluice reads self-managed Kafka only: use smk://host:port, not an ARN")
		}
		return "", errors.New("must be smk://host:port")
	}
	m := reSmk.FindStringSubmatch(s)
	if m == nil {
		return "", errors.New("must be smk://host:port with a DNS-label host name or IPv4 address")
	}
	if err := validPort(m[len(m)-1]); err != nil {
		return "", err
	}
	return strings.TrimPrefix(s, "smk://"), nil
}

// ParseEndpoint parses a Target, Enrichment or dead-letter string without consulting any registry:
// file:///absolute/path, http(s)://host/path (with optional "*" path wildcards and query),
// kafka://host:port/topic, or an ARN.
func ParseEndpoint(s string) (Endpoint, error) {
	if strings.HasPrefix(s, "arn:") {
		if !reARN.MatchString(s) {
			return Endpoint{}, errors.New("is not a valid ARN")
		}
		return Endpoint{Kind: plugin.Kind(s), ARN: s}, nil
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, errors.New("must be file:///path, http(s)://host/path, kafka://host:port/topic or an ARN")
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("is not a valid file URL: %w", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return Endpoint{}, fmt.Errorf("file URL has host %q: use file:///absolute/path (three slashes)", u.Host)
		}
		if u.Fragment != "" {
			return Endpoint{}, errors.New("file URL must not have a fragment")
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return Endpoint{}, fmt.Errorf("file URL query: %w", err)
		}
		for k := range q {
			if k != "fsync" {
				return Endpoint{}, fmt.Errorf("file URL has unknown option %q (known: fsync)", k)
			}
		}
		fsync := q.Get("fsync")
		if fsync != "" && fsync != "batch" && fsync != "never" {
			return Endpoint{}, fmt.Errorf("file URL option fsync must be batch or never, not %q", fsync)
		}
		if u.Path == "" || u.Path == "/" || strings.HasSuffix(u.Path, "/") {
			return Endpoint{}, errors.New("file URL must name a file: file:///absolute/path")
		}
		return Endpoint{Kind: "file", Path: u.Path, Fsync: fsync}, nil
	case "http", "https":
		u, err := url.Parse(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("is not a valid URL: %w", err)
		}
		if u.Host == "" || u.Hostname() == "" {
			return Endpoint{}, errors.New("URL has no host")
		}
		if u.User != nil {
			return Endpoint{}, errors.New("URL must not hold credentials: use ApiDestinationParameters.Connection")
		}
		if u.Fragment != "" {
			return Endpoint{}, errors.New("URL must not have a fragment")
		}
		if len(s) > 2048 {
			return Endpoint{}, errors.New("URL must be at most 2048 characters")
		}
		return Endpoint{Kind: strings.ToLower(scheme), URL: u}, nil
	case "kafka":
		hosts, topic, ok := strings.Cut(rest, "/")
		if !ok || topic == "" {
			return Endpoint{}, errors.New("must be kafka://host:port[,host:port...]/topic")
		}
		var brokers []string
		for _, hp := range strings.Split(hosts, ",") {
			if err := validBroker(hp); err != nil {
				return Endpoint{}, fmt.Errorf("kafka broker: %w", err)
			}
			brokers = append(brokers, hp)
		}
		if err := validTopic(topic); err != nil {
			return Endpoint{}, fmt.Errorf("kafka topic %q %w", topic, err)
		}
		return Endpoint{Kind: "kafka", Brokers: brokers, Topic: topic}, nil
	}
	return Endpoint{}, fmt.Errorf("unknown scheme %q: Sluice knows file://, http://, https://, kafka:// and ARNs of registered plugins", scheme)
}

// pathWildcards counts the "*" wildcards in an HTTP endpoint's path.
func pathWildcards(u *url.URL) int {
	return strings.Count(u.EscapedPath(), "*")
}

// validSecretRef checks a secret reference: a Secrets Manager secret ARN, file:///path or env:NAME.
func validSecretRef(s string) error {
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
