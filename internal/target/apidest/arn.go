package apidest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// destinationARN is a parsed arn:PARTITION:events:REGION:ACCOUNT:api-destination/NAME/UUID (or the
// connection/NAME/UUID an API destination names).
type destinationARN struct {
	arn, region, account, name string
}

var (
	reRegion  = regexp.MustCompile(`^[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}$`)
	reAccount = regexp.MustCompile(`^\d{12}$`)
	// reName is EventBridge's ApiDestinationName and ConnectionName: 1..64 of [.\-_A-Za-z0-9].
	reName = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	reUUID = regexp.MustCompile(`^[\-A-Za-z0-9]+$`)
)

// parseDestinationARN parses an API destination ARN.
func parseDestinationARN(s string) (destinationARN, error) {
	return parseEventsARN(s, "api-destination")
}

// parseConnectionARN parses a connection ARN.
func parseConnectionARN(s string) (destinationARN, error) { return parseEventsARN(s, "connection") }

func parseEventsARN(s, resource string) (destinationARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") {
		return destinationARN{}, errors.New("is not an ARN (arn:aws:events:REGION:ACCOUNT:" + resource + "/NAME/UUID)")
	}
	if parts[2] != "events" {
		return destinationARN{}, fmt.Errorf("service is %q, want events", parts[2])
	}
	a := destinationARN{arn: s, region: parts[3], account: parts[4]}
	if !reRegion.MatchString(a.region) {
		return destinationARN{}, fmt.Errorf("region %q is not an AWS region", a.region)
	}
	if !reAccount.MatchString(a.account) {
		return destinationARN{}, fmt.Errorf("account %q is not 12 digits", a.account)
	}
	rest, ok := strings.CutPrefix(parts[5], resource+"/")
	if !ok {
		return destinationARN{}, fmt.Errorf("resource %q is not %s/NAME/UUID", parts[5], resource)
	}
	name, id, ok := strings.Cut(rest, "/")
	if !reName.MatchString(name) {
		return destinationARN{}, fmt.Errorf("name %q must be 1..64 of A-Z, a-z, 0-9, '.', '-' and '_'", name)
	}
	if ok && !reUUID.MatchString(id) {
		return destinationARN{}, fmt.Errorf("resource %q is not %s/NAME/UUID", parts[5], resource)
	}
	a.name = name
	return a, nil
}
