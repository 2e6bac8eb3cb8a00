package redshift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
)

const cluster = "arn:aws:redshift:us-east-1:123456789012:cluster:warehouse"

func TestValidate(t *testing.T) {
	const pre = "TargetParameters.RedshiftDataParameters"
	awstest.CheckValidate(t, Validate, []awstest.ValidateCase{
		{Name: "minimal", Target: cluster, Params: `{"RedshiftDataParameters":{"Database":"dev","Sqls":["select 1"]}}`},
		{Name: "dynamic", Target: cluster, Params: `{"RedshiftDataParameters":{"Database":"$.value.db","Sqls":["$.value.sql","select 2"],"DbUser":"$.value.user","StatementName":"s","WithEvent":true}}`},
		{Name: "secret", Target: cluster, Params: `{"RedshiftDataParameters":{"Database":"dev","Sqls":["select 1"],"SecretManagerArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}}`},
		{Name: "absent", Target: cluster, Params: `{}`, Want: []plugin.FieldError{{Field: pre, Message: "is required with a Redshift cluster target (Database and Sqls at least)"}}},
		{Name: "every problem", Target: "arn:aws:redshift:us-east-1:123456789012:namespace:n", Params: `{"RedshiftDataParameters":{"Sqls":[],"DbUser":"","SecretManagerArn":"db-secret","StatementName":"` + strings.Repeat("s", 501) + `"}}`, Want: []plugin.FieldError{
			{Field: "Target", Message: `resource "namespace:n" must be cluster:NAME`},
			{Field: pre + ".Database", Message: "is required"},
			{Field: pre + ".Sqls", Message: "must have 1..40 items, not 0"},
			{Field: pre + ".DbUser", Message: "must be at least 1 characters"},
			{Field: pre + ".SecretManagerArn", Message: `must match arn:aws([a-z]|\-)*:secretsmanager:([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?):(\d{12}):secret:.+|\$(\.[\w/_-]+(\[(\d+|\*)\])*)*`},
			{Field: pre + ".StatementName", Message: "must be at most 500 characters, not 501"},
			{Field: pre + ".SecretManagerArn", Message: "must not be given with DbUser: the Data API authenticates with one or the other"},
		}},
		{Name: "empty statement and bad path", Target: cluster, Params: `{"RedshiftDataParameters":{"Database":"dev","Sqls":["select 1",""," $.x","$.a["]}}`, Want: []plugin.FieldError{
			{Field: pre + ".Sqls[1]", Message: "must be at least 1 characters"},
			{Field: pre + ".Sqls[3]", Message: "is not a valid JSON path"},
		}},
		{Name: "wrong type", Target: cluster, Params: `{"RedshiftDataParameters":{"Database":"dev","Sqls":"select 1"}}`, Want: []plugin.FieldError{{Field: pre + ".Sqls", Message: "must be an array, not string"}}},
	})
}

// fixTimes forwards calls of op to the emulator and rewrites the timestamps of its answer: moto 5.2.5
// writes CreatedAt and UpdatedAt as ISO 8601 strings where the Data API writes epoch seconds, which the
// SDK refuses to decode. Only the format changes. seen, when set, gets each answer.
func fixTimes(fp *awstest.FaultProxy, op string, seen func(body []byte)) {
	fp.Add(awstest.Rule{Op: op, Handle: func(ctx context.Context, x *awstest.Exchange) (*awstest.Response, error) {
		resp, err := x.Forward(ctx, x.Body)
		if err != nil || resp.Status != 200 {
			return resp, err
		}
		var out map[string]any
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return nil, err
		}
		for _, k := range []string{"CreatedAt", "UpdatedAt"} {
			if v, ok := out[k].(string); ok {
				ts, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return nil, fmt.Errorf("%s %q: %w", k, v, err)
				}
				out[k] = ts.Unix()
			}
		}
		resp.Body, _ = json.Marshal(out)
		if seen != nil {
			seen(resp.Body)
		}
		return resp, nil
	}})
}

// statementIDs fixes the answers of ExecuteStatement and DescribeStatement (fixTimes) and keeps the
// statement ids the emulator answers, which is how the test finds the statements to read back (the
// Data API of moto 5.2.5 has no ListStatements).
func statementIDs(fp *awstest.FaultProxy) func() []string {
	var (
		mu  sync.Mutex
		ids []string
	)
	fixTimes(fp, "DescribeStatement", nil)
	fixTimes(fp, "ExecuteStatement", func(body []byte) {
		var out struct{ Id string }
		if json.Unmarshal(body, &out) == nil && out.Id != "" {
			mu.Lock()
			ids = append(ids, out.Id)
			mu.Unlock()
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

func TestDeliverExecutesStatementPerEvent(t *testing.T) {
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	ids := statementIDs(fp)
	params := `{"InputTemplate":"not sent","RedshiftDataParameters":{"Database":"$.value.db","Sqls":["$.value.sql"],"DbUser":"loader","StatementName":"$.value.name","WithEvent":true}}`
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: cluster, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatal(err)
	}
	var b plugin.Batch
	for i := range 2 {
		b.Payloads = append(b.Payloads, json.RawMessage(`"not sent"`))
		b.Inputs = append(b.Inputs, awstest.KafkaEvent(fmt.Sprintf(`{"db":"db%d","sql":"insert into t values (%d, 'it''s')","name":"load-%d"}`, i, i, i)))
	}
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	// Read the statements back from the emulator.
	cfg := awstest.Config(t, "")
	cfg.BaseEndpoint = &fp.URL
	c := redshiftdata.NewFromConfig(cfg)
	type stmt struct{ Cluster, Database, User, SQL string }
	var got []stmt
	for _, id := range ids() {
		d, err := c.DescribeStatement(t.Context(), &redshiftdata.DescribeStatementInput{Id: &id})
		if err != nil {
			t.Fatalf("DescribeStatement(%s): %v", id, err)
		}
		got = append(got, stmt{aws.ToString(d.ClusterIdentifier), aws.ToString(d.Database), aws.ToString(d.DbUser), aws.ToString(d.QueryString)})
	}
	want := []stmt{
		{"warehouse", "db0", "loader", "insert into t values (0, 'it''s')"},
		{"warehouse", "db1", "loader", "insert into t values (1, 'it''s')"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statements (-want +got):\n%s", d)
	}
	// StatementName and WithEvent are not kept by the emulator: check what was sent.
	var req struct {
		StatementName string
		WithEvent     bool
	}
	if err := json.Unmarshal(fp.Calls("ExecuteStatement")[1].Body, &req); err != nil || req.StatementName != "load-1" || !req.WithEvent {
		t.Errorf("second ExecuteStatement request %s: want StatementName load-1 and WithEvent true (%v)", fp.Calls("ExecuteStatement")[1].Body, err)
	}
}

// TestDeliverSeveralStatements checks the BatchExecuteStatement request. moto 5.2.5 does not implement
// BatchExecuteStatement, so the test checks what reached it and that its refusal is returned, not
// swallowed.
func TestDeliverSeveralStatements(t *testing.T) {
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	params := `{"RedshiftDataParameters":{"Database":"dev","Sqls":["begin","$.value.sql","commit"],"SecretManagerArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}}`
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: cluster, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatal(err)
	}
	b := plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}, Inputs: []json.RawMessage{awstest.KafkaEvent(`{"sql":"delete from t"}`)}}
	err = tg.Deliver(t.Context(), b)
	if err == nil || !strings.Contains(err.Error(), "BatchExecuteStatement") {
		t.Errorf("Deliver = %v, want the emulator's refusal of BatchExecuteStatement", err)
	}
	calls := fp.Calls("BatchExecuteStatement")
	if len(calls) != 1 {
		t.Fatalf("BatchExecuteStatement calls = %d, want 1", len(calls))
	}
	var req struct {
		ClusterIdentifier, Database, SecretArn string
		Sqls                                   []string
	}
	if err := json.Unmarshal(calls[0].Body, &req); err != nil {
		t.Fatal(err)
	}
	want := []string{"begin", "delete from t", "commit"}
	if req.ClusterIdentifier != "warehouse" || req.Database != "dev" || !strings.HasSuffix(req.SecretArn, ":secret:db-AbCdEf") || !cmp.Equal(req.Sqls, want) {
		t.Errorf("BatchExecuteStatement request = %+v, want cluster warehouse, database dev, the secret and Sqls %q", req, want)
	}
}

func TestDeliverThrottled(t *testing.T) {
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Fail("ExecuteStatement", 1, awstest.Throttle("ThrottlingException"))
	fixTimes(fp, "ExecuteStatement", nil)
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: cluster, Params: json.RawMessage(`{"RedshiftDataParameters":{"Database":"dev","Sqls":["select 1"]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	b := plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}, Inputs: []json.RawMessage{json.RawMessage(`{}`)}}
	var th *plugin.ThrottledError
	if err := tg.Deliver(t.Context(), b); !errors.As(err, &th) {
		t.Fatalf("Deliver = %v, want a *plugin.ThrottledError", err)
	}
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver after the throttling: %v", err)
	}
}
