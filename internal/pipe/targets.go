package pipe

import (
	"errors"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
)

var (
	hostPort  = `(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]):([0-9]{1,5})`
	reSmk     = regexp.MustCompile(`^smk://` + hostPort + `$`)
	reARN     = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-]+):([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?)?:(\d{12})?:(.+)$`)
	reURIKind = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]*://`)
)

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
	if err := fieldcheck.CheckPort(m[len(m)-1]); err != nil {
		return "", err
	}
	return strings.TrimPrefix(s, "smk://"), nil
}

// endpointKind checks the generic syntax of a Target, Enrichment or dead-letter string, an ARN or a URI
// (scheme://...), and returns its kind (plugin.Kind). What follows is the plugin's to check.
func endpointKind(s string) (string, error) {
	if strings.HasPrefix(s, "arn:") {
		if !reARN.MatchString(s) {
			return "", errors.New("is not a valid ARN")
		}
		return plugin.Kind(s), nil
	}
	if !reURIKind.MatchString(s) {
		return "", errors.New("must be an ARN or a URI (scheme://...) of a registered plugin kind")
	}
	return plugin.Kind(s), nil
}
