package awsclient

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/sluicehq/sluice/internal/plugin"
)

// TargetARN checks a Target ARN of one service whose resource is prefix followed by a name
// ("stream/" for Kinesis, "cluster:" for Redshift) and returns the ARN and the name. Every problem is a
// FieldError on "Target". The account must be 12 digits; the region may be empty (the default region).
func TargetARN(endpoint, service, prefix string) (arn.ARN, string, []plugin.FieldError) {
	a, err := arn.Parse(endpoint)
	if err != nil {
		return arn.ARN{}, "", []plugin.FieldError{{Field: "Target", Message: fmt.Sprintf("is not an ARN: %v", err)}}
	}
	var errs []plugin.FieldError
	bad := func(format string, args ...any) {
		errs = append(errs, plugin.FieldError{Field: "Target", Message: fmt.Sprintf(format, args...)})
	}
	if a.Service != service {
		bad("is an ARN of service %q, not %q", a.Service, service)
	}
	if len(a.AccountID) != 12 || strings.Trim(a.AccountID, "0123456789") != "" {
		bad("account %q must be 12 digits", a.AccountID)
	}
	name, ok := strings.CutPrefix(a.Resource, prefix)
	if !ok || name == "" {
		bad("resource %q must be %sNAME", a.Resource, prefix)
	}
	return a, name, errs
}
