package redshift

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestPipeToRedshift is the end-to-end test: each record on the real broker runs its statement (a
// dynamic Sqls item) on the cluster, read back with DescribeStatement.
func TestPipeToRedshift(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	ids := statementIDs(fp)
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"sql":"insert into orders values (%d)"}`, i)})
	}
	c.Produce(t, recs...)
	awstest.RunPipe(t, c, topic, awstest.PipeSpec{
		Target: cluster, Endpoint: fp.URL,
		TargetParameters: map[string]any{"RedshiftDataParameters": map[string]any{
			"Database": "dev", "DbUser": "loader", "Sqls": []string{"$.value.sql"},
		}},
	})
	cfg := awstest.Config(t, "")
	cfg.BaseEndpoint = &fp.URL
	client := redshiftdata.NewFromConfig(cfg)
	want := []string{"insert into orders values (0)", "insert into orders values (1)", "insert into orders values (2)"}
	kafkatest.Eventually(t, 60*time.Second, func() error {
		var got []string
		for _, id := range ids() {
			d, err := client.DescribeStatement(t.Context(), &redshiftdata.DescribeStatementInput{Id: &id})
			if err != nil {
				return err
			}
			if aws.ToString(d.ClusterIdentifier) != "warehouse" || aws.ToString(d.Database) != "dev" {
				return fmt.Errorf("statement %s ran on %s/%s, want warehouse/dev", id, aws.ToString(d.ClusterIdentifier), aws.ToString(d.Database))
			}
			got = append(got, aws.ToString(d.QueryString))
		}
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("statements (-want +got):\n%s", d)
		}
		return nil
	})
}
