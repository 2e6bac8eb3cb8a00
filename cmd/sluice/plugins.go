package main

// The targets and enrichments of this binary: each package adds its plugin.TargetSpec or
// plugin.EnricherSpec to plugin.Default in init(). Adding a target is one package and one line here
// (docs/adding-a-target.md).
import (
	_ "github.com/sluicehq/sluice/internal/enrich/http"
	_ "github.com/sluicehq/sluice/internal/target/apidest"
	_ "github.com/sluicehq/sluice/internal/target/apigateway"
	_ "github.com/sluicehq/sluice/internal/target/batch"
	_ "github.com/sluicehq/sluice/internal/target/cwlogs"
	_ "github.com/sluicehq/sluice/internal/target/ecs"
	_ "github.com/sluicehq/sluice/internal/target/eventbus"
	_ "github.com/sluicehq/sluice/internal/target/file"
	_ "github.com/sluicehq/sluice/internal/target/firehose"
	_ "github.com/sluicehq/sluice/internal/target/http"
	_ "github.com/sluicehq/sluice/internal/target/kafka"
	_ "github.com/sluicehq/sluice/internal/target/kinesis"
	_ "github.com/sluicehq/sluice/internal/target/lambda"
	_ "github.com/sluicehq/sluice/internal/target/redshift"
	_ "github.com/sluicehq/sluice/internal/target/sagemaker"
	_ "github.com/sluicehq/sluice/internal/target/sns"
	_ "github.com/sluicehq/sluice/internal/target/sqs"
	_ "github.com/sluicehq/sluice/internal/target/stepfunctions"
	_ "github.com/sluicehq/sluice/internal/target/timestream"
)
