package plugin

// TEMPORARY (awsstream branch only): the seam API names from /work/wt/seam-api.md, so that the
// awsstream targets compile and their cores can be tested before the seam lands. Deleted when main
// (with the real seam) is merged.

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type Check struct {
	Endpoint      string
	Params        json.RawMessage
	PipeName      string
	RoleArn       string
	SourceBrokers []string
	SourceTopic   string
	Enrichment    string
	BatchSize     int
}

type Batch struct {
	Payloads []json.RawMessage
	Inputs   []json.RawMessage
	Keys     []json.RawMessage
	OwnJSON  bool
}

type AWSConfig func(ctx context.Context, region string) (aws.Config, error)
