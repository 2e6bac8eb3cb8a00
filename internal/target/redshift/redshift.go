// Package redshift is the Amazon Redshift Data API target: for each event, the SQL of
// TargetParameters.RedshiftDataParameters runs on the cluster of the Target ARN
// (arn:aws:redshift:REGION:ACCOUNT:cluster:NAME), with ExecuteStatement for one statement and
// BatchExecuteStatement for several (one transaction), as Pipes does: one call per event. The event is a
// trigger and its payload is not sent; any string member, each Sqls item included, may instead be a
// JSON path read from the untransformed event (a whole statement, not a part of one).
package redshift

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

const (
	// Member is the TargetParameters member this target owns.
	Member = "RedshiftDataParameters"
)

// Parameters is TargetParameters.RedshiftDataParameters.
type Parameters struct {
	Database         *string  `json:"Database"`
	Sqls             []string `json:"Sqls"`
	DbUser           *string  `json:"DbUser"`
	SecretManagerArn *string  `json:"SecretManagerArn"`
	StatementName    *string  `json:"StatementName"`
	WithEvent        bool     `json:"WithEvent"`
}

var reSecret = awsclient.Anchored(`arn:aws([a-z]|\-)*:secretsmanager:([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?):(\d{12}):secret:.+|` + awsclient.PathPattern)

// Validate checks the Target ARN and RedshiftDataParameters. It does no I/O.
func Validate(c plugin.Check) []plugin.FieldError {
	_, _, _, errs := parse(c)
	return errs
}

func parse(c plugin.Check) (string, *Parameters, *awsclient.Dynamic, []plugin.FieldError) {
	_, cluster, errs := awsclient.TargetARN(c.Endpoint, "redshift", "cluster:")
	errs = append(errs, awsclient.OneEventPerCall(c, "a Redshift Data target")...)
	var p Parameters
	present, perrs := awsclient.DecodeMember(c, Member, &p)
	if len(perrs) > 0 {
		return "", nil, nil, append(errs, perrs...)
	}
	f := &awsclient.Fields{Prefix: "TargetParameters." + Member}
	if !present {
		f.Add("", "is required with a Redshift cluster target (Database and Sqls at least)")
		return "", nil, nil, append(errs, f.Errs...)
	}
	f.Required("Database", p.Database != nil)
	f.String("Database", p.Database, 1, 64, nil, true)
	f.Required("Sqls", p.Sqls != nil)
	f.Count("Sqls", len(p.Sqls), 1, 40)
	for i := range p.Sqls {
		f.String(fmt.Sprintf("Sqls[%d]", i), &p.Sqls[i], 1, 100000, nil, true)
	}
	f.String("DbUser", p.DbUser, 1, 128, nil, true)
	f.String("SecretManagerArn", p.SecretManagerArn, 1, 1600, reSecret, true)
	f.String("StatementName", p.StatementName, 1, 500, nil, true)
	if p.DbUser != nil && p.SecretManagerArn != nil {
		f.Add("SecretManagerArn", "must not be given with DbUser: the Data API authenticates with one or the other")
	}
	errs = append(errs, f.Errs...)
	dyn, derrs := awsclient.ParseDynamic(c, Member)
	return cluster, &p, dyn, append(errs, derrs...)
}

// Target runs SQL on one cluster.
type Target struct {
	client  *redshiftdata.Client
	arn     string
	cluster string
	dyn     *awsclient.Dynamic
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	cluster, _, dyn, errs := parse(c)
	if err := awsclient.Invalid("redshift", errs); err != nil {
		return nil, err
	}
	return &Target{client: redshiftdata.NewFromConfig(cfg), arn: c.Endpoint, cluster: cluster, dyn: dyn}, nil
}

// Deliver runs the statements once per event, in order. The call returns when the Data API has
// accepted the statements; it does not wait for them to finish (WithEvent asks Redshift to report that
// on the default event bus, as in Pipes).
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	return awsclient.EachDecoded(ctx, b, t.dyn, func(ctx context.Context, p *Parameters) error {
		if len(p.Sqls) == 1 {
			_, err := t.client.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{
				ClusterIdentifier: &t.cluster, Database: p.Database, DbUser: p.DbUser, SecretArn: p.SecretManagerArn,
				Sql: &p.Sqls[0], StatementName: p.StatementName, WithEvent: &p.WithEvent,
			})
			if err != nil {
				return fmt.Errorf("redshift-data ExecuteStatement on %s: %w", t.arn, err)
			}
			return nil
		}
		_, err := t.client.BatchExecuteStatement(ctx, &redshiftdata.BatchExecuteStatementInput{
			ClusterIdentifier: &t.cluster, Database: p.Database, DbUser: p.DbUser, SecretArn: p.SecretManagerArn,
			Sqls: p.Sqls, StatementName: p.StatementName, WithEvent: &p.WithEvent,
		})
		if err != nil {
			return fmt.Errorf("redshift-data BatchExecuteStatement on %s: %w", t.arn, err)
		}
		return nil
	})
}
