// Package kafkatest hands tests a Kafka cluster: franz-go's in-process kfake,
// or the real Apache Kafka broker that scripts/kafka/ctl.sh starts.
//
// The real broker is found through the environment that scripts/test.sh (or a
// developer, with `eval "$(scripts/kafka/ctl.sh env)"`) exports:
//
//	SLUICE_KAFKA_PLAINTEXT  PLAINTEXT listener (127.0.0.1:9092)
//	SLUICE_KAFKA_TLS        SSL listener with required client certificates (localhost:9094)
//	SLUICE_KAFKA_SASL       SASL_SSL listener: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (localhost:9096)
//	SLUICE_KAFKA_PKI        directory with the test CA, client keys and secret JSON files
//	SLUICE_KAFKA_CTL        scripts/kafka/ctl.sh, used to stop, start and restart the broker
//	SLUICE_KAFKA_DIR        the broker's run directory (lock files live there)
//	SLUICE_KAFKA_REQUIRED=1 a test that needs the real broker fails instead of skipping
//	SLUICE_AWS_ENDPOINT     the Secrets Manager emulator (moto) URL
//	SLUICE_AWS_REQUIRED=1   a test that needs the emulator fails instead of skipping
//
// The REQUIRED switches exist so that CI can never pass by skipping: `make test`
// sets them, a plain `go test` does not.
//
// Each runs a behaviour test on both clusters; Kfake and Real hand out one;
// Cluster.CreateTopic, Produce and Client do the usual set-up; PKI returns the
// generated certificates, keys and Secrets Manager secret files (with or
// without the broker); StopBroker, StartBroker, RestartBroker and KillBroker
// drive the real broker for fault tests.
//
// Only one real broker runs on a machine and several test binaries share it.
// Tests that restart it (fault tests) would otherwise break tests of other
// packages running at the same moment, so every test using the real broker
// holds a shared file lock for its duration and a restart waits for the
// exclusive one (see broker.go). Within one package, tests that restart the
// broker must not run in parallel with other real-broker tests.
package kafkatest
