package awsclient

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadARN is matched (errors.Is) by every error ParseARN returns.
var ErrBadARN = errors.New("malformed ARN")

// ARN is an Amazon Resource Name split into its fields:
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
type ARN struct {
	Partition string // "aws", "aws-cn", "aws-us-gov", ...
	Service   string // "sqs", "lambda", "events", ...
	Region    string // "" for global resources
	Account   string // "" for resources without one (an S3 bucket)
	Resource  string // everything after the account, colons included: "function:name:alias"
}

// String returns the ARN as written.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// ARNError is a malformed ARN: which field is wrong and why. It matches ErrBadARN.
type ARNError struct {
	ARN    string
	Field  string // "prefix", "partition", "service", "region", "account", "resource"
	Reason string
}

func (e *ARNError) Error() string {
	return fmt.Sprintf("ARN %q: %s %s", e.ARN, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrBadARN) true.
func (e *ARNError) Is(target error) bool { return target == ErrBadARN }

// ParseARN splits an ARN, checking each field: the partition and service are lowercase letters, digits
// and hyphens; the region is empty or the same (it becomes part of a host name, so nothing else may
// pass); the account is empty or 12 digits; the resource is not empty. The error is an *ARNError
// naming the field.
func ParseARN(s string) (ARN, error) {
	fail := func(field, format string, args ...any) (ARN, error) {
		return ARN{}, &ARNError{ARN: s, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	parts := strings.SplitN(s, ":", 6)
	if parts[0] != "arn" {
		return fail("prefix", "must be \"arn:\"")
	}
	if len(parts) < 6 {
		return fail("resource", "is missing: an ARN has the form arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE")
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
	if !isLabel(a.Partition) {
		return fail("partition", "%q must be lowercase letters, digits and hyphens, such as aws", a.Partition)
	}
	if !isLabel(a.Service) {
		return fail("service", "%q must be lowercase letters, digits and hyphens, such as sqs", a.Service)
	}
	if a.Region != "" && !isLabel(a.Region) {
		return fail("region", "%q must be lowercase letters, digits and hyphens, such as us-east-1", a.Region)
	}
	if a.Account != "" && !isAccount(a.Account) {
		return fail("account", "%q must be 12 digits", a.Account)
	}
	if a.Resource == "" {
		return fail("resource", "is empty")
	}
	return a, nil
}

// isLabel reports whether s is a non-empty run of lowercase letters, digits and hyphens, not starting
// or ending with a hyphen, at most 63 characters (one DNS label).
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
