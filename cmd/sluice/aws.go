package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/sluicehq/sluice/internal/awsclient"
)

// awsFlags are the AWS flags of serve, run and dev: where AWS calls go (AWS targets and enrichments,
// the STS calls that assume pipe roles, Secrets Manager) and with which credentials.
type awsFlags struct {
	awsEndpoint string
	assumeRole  bool
}

// register adds --aws-endpoint and --assume-pipe-role to fs.
func (f *awsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.awsEndpoint, "aws-endpoint", os.Getenv("SLUICE_AWS_ENDPOINT"),
		"base endpoint `URL` of every AWS service (AWS targets and enrichments, STS, Secrets Manager), such as an emulator's (env SLUICE_AWS_ENDPOINT; default: AWS_ENDPOINT_URL, else AWS); an AWS_ENDPOINT_URL_<SERVICE> variable wins over it for its service")
	fs.BoolVar(&f.assumeRole, "assume-pipe-role", true,
		"make each pipe's AWS calls with its RoleArn, assumed through STS with this host's credentials (false: with this host's credentials, RoleArn ignored)")
}

// check validates the flags, before anything starts.
func (f *awsFlags) check() error {
	if f.awsEndpoint == "" {
		return nil
	}
	u, err := url.Parse(f.awsEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--aws-endpoint %q is not an http or https URL", f.awsEndpoint)
	}
	return nil
}

// provider returns the AWS configuration provider of the command's pipes; region is the default
// region (--region, else the SDK's, else awsid.DefaultRegion).
func (f *awsFlags) provider(region string, log *slog.Logger) *awsclient.Provider {
	return awsclient.New(awsclient.Options{Endpoint: f.awsEndpoint, AssumeRole: f.assumeRole, Region: region, Logger: log})
}
