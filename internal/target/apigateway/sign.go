package apigateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// signingName is the SigV4 service name of API Gateway's invoke endpoint.
const signingName = "execute-api"

// signer signs requests to an API with SigV4, with the pipe's credentials.
type signer struct {
	creds  aws.CredentialsProvider
	region string
	v4     *v4.Signer
}

func newSigner(creds aws.CredentialsProvider, region string) *signer {
	return &signer{creds: creds, region: region, v4: v4.NewSigner()}
}

// sign adds the SigV4 headers (Authorization, X-Amz-Date, X-Amz-Security-Token for temporary
// credentials) to req, once every other header is set. The payload is hashed from req.GetBody, which
// the HTTP client sets over the bytes in memory.
func (s *signer) sign(ctx context.Context, req *http.Request) error {
	if s.creds == nil {
		return plugin.Permanent(fmt.Errorf("signing %s %s: no AWS credentials", req.Method, req.URL.Host))
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return awsclient.Classify(fmt.Errorf("signing %s %s: retrieving AWS credentials: %w", req.Method, req.URL.Host, err))
	}
	h := sha256.New()
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return fmt.Errorf("signing %s %s: reading the body: %w", req.Method, req.URL.Host, err)
		}
		_, err = io.Copy(h, body)
		body.Close()
		if err != nil {
			return fmt.Errorf("signing %s %s: hashing the body: %w", req.Method, req.URL.Host, err)
		}
	}
	if err := s.v4.SignHTTP(ctx, creds, req, hex.EncodeToString(h.Sum(nil)), signingName, s.region, time.Now()); err != nil {
		return fmt.Errorf("signing %s %s: %w", req.Method, req.URL.Host, err)
	}
	return nil
}
