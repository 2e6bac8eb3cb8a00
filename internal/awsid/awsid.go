// Package awsid is the AWS identity Sluice presents when it is given none: the region and account that
// appear in pipe ARNs (and the region of Secrets Manager calls whose ARN names none), and the one
// function that spells a pipe ARN. The API (DescribePipe), the runtime (<aws.pipes.pipe-arn>, the
// execution log, dead letters) and `sluice test-input-template` all build pipe ARNs here, so that they
// agree to the character.
package awsid

// DefaultRegion and DefaultAccount are used when neither flags nor the environment give a region or an
// account. The account is all zeros, which no real AWS account has, so that a Sluice ARN is never
// mistaken for one of AWS.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

// PipeArn returns the ARN of the pipe name, "arn:aws:pipes:REGION:ACCOUNT:pipe/NAME"; an empty region or
// account takes DefaultRegion or DefaultAccount. With an empty name it is the prefix of every pipe ARN of
// that region and account.
func PipeArn(region, account, name string) string {
	if region == "" {
		region = DefaultRegion
	}
	if account == "" {
		account = DefaultAccount
	}
	return "arn:aws:pipes:" + region + ":" + account + ":pipe/" + name
}
