package apidest

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"

	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// TestSecretShapes: the connection secret is read in AWS's flat shape and in moto's (OAuth client nested
// under client_parameters, o_auth_http_parameters), and a parameter DescribeConnection returns without
// its value (IsValueSecret) takes the secret's.
func TestSecretShapes(t *testing.T) {
	tests := []struct {
		name, secret string
		want         map[string]string
		wantOAuth    string // the value of the secret OAuth body parameter "audience"
	}{
		{
			name:      "flat",
			secret:    `{"client_id":"cid","client_secret":"cs","oauth_http_parameters":{"body_parameters":[{"key":"audience","value":"aud","is_value_secret":true}]}}`,
			want:      map[string]string{"client_id": "cid", "client_secret": "cs"},
			wantOAuth: "aud",
		},
		{
			name:      "moto",
			secret:    `{"client_parameters":{"client_id":"cid","client_secret":"cs"},"authorization_endpoint":"https://x","http_method":"POST","o_auth_http_parameters":{"body_parameters":[{"key":"audience","value":"aud","is_value_secret":true}]}}`,
			want:      map[string]string{"client_id": "cid", "client_secret": "cs"},
			wantOAuth: "aud",
		},
		{
			name:   "basic with invocation parameters",
			secret: `{"username":"u","password":"p","invocation_http_parameters":{"header_parameters":[{"key":"X-Sig","value":"v","is_value_secret":true}]}}`,
			want:   map[string]string{"username": "u", "password": "p"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := decodeSecret("arn:secret", []byte(tc.secret))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal(s.credentials(), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("credential %s = %q, want %q", k, got[k], v)
				}
			}
			if tc.wantOAuth != "" {
				p, err := httpParams(&ebtypes.ConnectionHttpParameters{BodyParameters: []ebtypes.ConnectionBodyParameter{
					{Key: aws.String("scope"), Value: aws.String("orders")},
					{Key: aws.String("audience"), IsValueSecret: true}, // as AWS describes it: no value
				}}, s.OAuth)
				if err != nil {
					t.Fatal(err)
				}
				want := &httptarget.ConnectionHttpParameters{BodyParameters: []httptarget.ConnectionParameter{{Key: "scope", Value: "orders"}, {Key: "audience", Value: tc.wantOAuth}}}
				if diff := cmp.Diff(want, p); diff != "" {
					t.Errorf("OAuth parameters (-want +got):\n%s", diff)
				}
			}
		})
	}
	if _, err := decodeSecret("arn:secret", []byte(`["not an object"]`)); err == nil || err.Error() != "connection secret arn:secret is not a JSON object of the expected shape" {
		t.Errorf("decodeSecret(array) error = %v", err)
	}
	// A secret parameter the secret does not hold is an error naming the key, not an empty value.
	_, err := httpParams(&ebtypes.ConnectionHttpParameters{HeaderParameters: []ebtypes.ConnectionHeaderParameter{{Key: aws.String("X-Missing"), IsValueSecret: true}}}, nil)
	if err == nil {
		t.Error("httpParams with a secret value missing from the secret succeeded")
	}
}
