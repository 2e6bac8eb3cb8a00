package awsclient

// ParseServiceARN parses an ARN of service that names its region and account, as the ARN of every
// regional resource a pipe targets does. The error is an *ARNError naming the field.
func ParseServiceARN(s, service string) (ARN, error) {
	a, err := ParseARN(s)
	if err != nil {
		return ARN{}, err
	}
	switch {
	case a.Service != service:
		return ARN{}, &ARNError{ARN: s, Field: "service", Reason: "is " + a.Service + ", want " + service}
	case a.Region == "":
		return ARN{}, &ARNError{ARN: s, Field: "region", Reason: "is empty"}
	case a.Account == "":
		return ARN{}, &ARNError{ARN: s, Field: "account", Reason: "is empty"}
	}
	return a, nil
}
