package transform

// DefaultRegion and DefaultAccount fill a pipe ARN when Sluice runs without AWS settings; they match the API's
// defaults so that <aws.pipes.pipe-arn> renders the same ARN that DescribePipe returns.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

// PipeArn returns the ARN of the pipe name, "arn:aws:pipes:REGION:ACCOUNT:pipe/NAME"; an empty region or account
// takes DefaultRegion or DefaultAccount.
func PipeArn(region, account, name string) string {
	if region == "" {
		region = DefaultRegion
	}
	if account == "" {
		account = DefaultAccount
	}
	return "arn:aws:pipes:" + region + ":" + account + ":pipe/" + name
}
