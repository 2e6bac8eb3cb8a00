package apigateway

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/awsclient"
)

// methodARN is a parsed API Gateway method ARN,
// arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH.
type methodARN struct {
	partition, region, account string
	api, stage                 string
	// method is the HTTP method; "*" (any method) is sent as POST.
	method string
	// path is the resource path after the method, without a leading "/" ("" for the root); "*"
	// segments are filled from HttpParameters.PathParameterValues.
	path string
}

var (
	reAPIID = regexp.MustCompile(`^[a-zA-Z0-9]{1,64}$`)
	// reStage is API Gateway's stage name: letters, digits, '-' and '_', at most 128.
	reStage = regexp.MustCompile(`^[a-zA-Z0-9_\-]{1,128}$`)
	// rePath is the resource path: segments of the characters API Gateway allows in a resource path
	// part, and "*" wildcards; no empty segment.
	rePath = regexp.MustCompile(`^([a-zA-Z0-9._\-:{}+*]+)(/[a-zA-Z0-9._\-:{}+*]+)*$`)
)

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"}

// parseMethodARN parses an execute-api ARN.
func parseMethodARN(s string) (methodARN, error) {
	arn, err := awsclient.ParseServiceARN(s, "execute-api")
	if err != nil {
		return methodARN{}, err
	}
	a := methodARN{partition: arn.Partition, region: arn.Region, account: arn.Account}
	res := strings.SplitN(arn.Resource, "/", 4)
	if len(res) < 3 {
		return methodARN{}, fmt.Errorf("resource %q is not API_ID/STAGE/METHOD/PATH", arn.Resource)
	}
	a.api, a.stage, a.method = res[0], res[1], res[2]
	if len(res) == 4 {
		a.path = res[3]
	}
	if !reAPIID.MatchString(a.api) {
		return methodARN{}, fmt.Errorf("API ID %q must be letters and digits", a.api)
	}
	if !reStage.MatchString(a.stage) {
		return methodARN{}, fmt.Errorf("stage %q must be 1..128 letters, digits, '-' or '_'", a.stage)
	}
	if !validMethod(a.method) {
		return methodARN{}, fmt.Errorf("method %q is not one of %s", a.method, strings.Join(methods, ", "))
	}
	if a.path != "" && !rePath.MatchString(a.path) {
		return methodARN{}, fmt.Errorf("path %q must be resource path segments (no empty segment, no query)", a.path)
	}
	return a, nil
}

func validMethod(m string) bool {
	for _, x := range methods {
		if m == x {
			return true
		}
	}
	return false
}

// httpMethod is the method requests are sent with.
func (a methodARN) httpMethod() string {
	if a.method == "*" {
		return "POST"
	}
	return a.method
}

// wildcards counts the "*" path segments to fill.
func (a methodARN) wildcards() int { return strings.Count(a.path, "*") }
