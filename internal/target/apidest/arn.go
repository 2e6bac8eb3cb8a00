package apidest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/awsclient"
)

// destinationARN is a parsed arn:PARTITION:events:REGION:ACCOUNT:api-destination/NAME/UUID (or the
// connection/NAME/UUID an API destination names).
type destinationARN struct {
	arn, region, name string
}

var (
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
	a, err := awsclient.ParseServiceARN(s, "events")
	if err != nil {
		return destinationARN{}, err
	}
	rest, ok := strings.CutPrefix(a.Resource, resource+"/")
	if !ok {
		return destinationARN{}, fmt.Errorf("resource %q is not %s/NAME/UUID", a.Resource, resource)
	}
	name, id, ok := strings.Cut(rest, "/")
	if !reName.MatchString(name) {
		return destinationARN{}, fmt.Errorf("name %q must be 1..64 of A-Z, a-z, 0-9, '.', '-' and '_'", name)
	}
	if ok && !reUUID.MatchString(id) {
		return destinationARN{}, fmt.Errorf("resource %q is not %s/NAME/UUID", a.Resource, resource)
	}
	return destinationARN{arn: s, region: a.Region, name: name}, nil
}
