package apidest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/plugin"
)

// connectionSecret is the JSON EventBridge keeps in a connection's secret (the secret named
// "events!connection/NAME/UUID/auth" that DescribeConnection's SecretArn points at): the credentials of
// the authorization type, and the values of the connection's HTTP parameters (those marked
// IsValueSecret are only there, DescribeConnection leaves them out).
//
// The OAuth client is read both at the top level (client_id, client_secret) and nested under
// client_parameters, which is how moto stores it (it writes the CreateConnection parameters with their
// names in snake case); the OAuth HTTP parameters likewise under oauth_http_parameters or moto's
// o_auth_http_parameters.
type connectionSecret struct {
	Username         string             `json:"username"`
	Password         string             `json:"password"`
	APIKeyName       string             `json:"api_key_name"`
	APIKeyValue      string             `json:"api_key_value"`
	ClientID         string             `json:"client_id"`
	ClientSecret     string             `json:"client_secret"`
	ClientParameters *secretOAuthClient `json:"client_parameters"`
	Invocation       *secretHTTPParams  `json:"invocation_http_parameters"`
	OAuth            *secretHTTPParams  `json:"oauth_http_parameters"`
	OAuthMoto        *secretHTTPParams  `json:"o_auth_http_parameters"`
}

type secretOAuthClient struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type secretHTTPParams struct {
	Header []secretParam `json:"header_parameters"`
	Query  []secretParam `json:"query_string_parameters"`
	Body   []secretParam `json:"body_parameters"`
}

type secretParam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// decodeSecret reads a connection's secret; errors name the secret, never its content.
func decodeSecret(ref string, b []byte) (*connectionSecret, error) {
	var s connectionSecret
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, plugin.Permanent(fmt.Errorf("connection secret %s is not a JSON object of the expected shape", ref))
	}
	if c := s.ClientParameters; c != nil {
		if s.ClientID == "" {
			s.ClientID = c.ClientID
		}
		if s.ClientSecret == "" {
			s.ClientSecret = c.ClientSecret
		}
	}
	if s.OAuth == nil {
		s.OAuth = s.OAuthMoto
	}
	return &s, nil
}

// credentials is the secret in the shape the HTTP target's connection model reads from a secret
// reference ({"username", "password"}, {"api_key_value"}, {"client_id", "client_secret"}).
func (s *connectionSecret) credentials() []byte {
	b, _ := json.Marshal(map[string]string{
		"username": s.Username, "password": s.Password,
		"api_key_value": s.APIKeyValue,
		"client_id":     s.ClientID, "client_secret": s.ClientSecret,
	})
	return b
}

// value returns the secret's value of one HTTP parameter, for those DescribeConnection returns without.
func (p *secretHTTPParams) value(kind, key string) (string, bool) {
	if p == nil {
		return "", false
	}
	var list []secretParam
	switch kind {
	case "header":
		list = p.Header
	case "query":
		list = p.Query
	case "body":
		list = p.Body
	}
	for _, kv := range list {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// fixedSecret is the SecretResolver handed to the HTTP target for a resolved connection: it knows the one
// secret it was built with, already read, and refuses any other reference.
type fixedSecret struct {
	ref   string
	value []byte
}

var errOtherSecret = errors.New("not the connection's secret")

func (f fixedSecret) Resolve(_ context.Context, ref string) ([]byte, error) {
	if ref != f.ref {
		return nil, errOtherSecret
	}
	return f.value, nil
}
