package pipe

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
)

var (
	reName    = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)
	reRoleArn = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z0-9+=,.@\-_/]+$`)
	reKms     = regexp.MustCompile(`^[a-zA-Z0-9_\-/:]*$`)
	reGroupID = regexp.MustCompile(`^[a-zA-Z0-9-\/*:_+=.@-]*$`)
	reSubnet  = regexp.MustCompile(`^subnet-[0-9a-z]*$`)
	reSG      = regexp.MustCompile(`^sg-[0-9a-zA-Z]*$`)
)

// Limits from the Pipes API model (the member constraints of CreatePipe) and the EventBridge user guide's
// pages on filtering, input transformation and enrichment.
const (
	MaxFilters        = 5
	MaxPatternLength  = 4096
	MaxTemplateLength = 8192
	MaxBatchSize      = 10000
	MaxBatchingWindow = 300
)

// deadLetterField is the field of the dead-letter destination.
const deadLetterField = "SourceParameters.SelfManagedKafkaParameters.DeadLetterConfig.Arn"

// Validate reports every problem of a definition defaulted with the same registry (SetDefaults), each by
// field path; it returns nil when the definition is valid. It performs no I/O. The Target, Enrichment and
// dead-letter destination must be of a kind reg has a plugin for; each plugin-owned parameter member
// must belong to the pipe's plugin of that part, whose Validate then checks the endpoint string and its
// members (plugin.TargetSpec.Validate), its problems reported with the definition's.
func (d *Definition) Validate(reg *plugin.Registry) FieldErrors {
	return d.validateCollect(reg, nil)
}

// validateCollect is Validate, also listing the definition's local files into files when it is not nil
// (LocalFiles), so that the walk over the members exists once.
func (d *Definition) validateCollect(reg *plugin.Registry, files *[]LocalFile) FieldErrors {
	if reg == nil {
		reg = plugin.NewRegistry()
	}
	var fe FieldErrors
	v := &validator{fe: &fe, reg: reg, files: files}

	if d.Name == "" {
		fe.add("Name", "is required")
	} else {
		v.length("Name", d.Name, 1, 64)
		v.match("Name", d.Name, reName, "must match [.-_A-Za-z0-9]+")
	}
	if d.Description != nil {
		v.length("Description", *d.Description, 0, 512)
	}
	v.enum("DesiredState", d.DesiredState, StateRunning, StateStopped)
	if d.RoleArn != "" {
		v.length("RoleArn", d.RoleArn, 1, 1600)
		v.match("RoleArn", d.RoleArn, reRoleArn, "must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
	}
	if d.KmsKeyIdentifier != nil {
		v.length("KmsKeyIdentifier", *d.KmsKeyIdentifier, 0, 2048)
		v.match("KmsKeyIdentifier", *d.KmsKeyIdentifier, reKms, "must match [a-zA-Z0-9_-/:]*")
	}
	if d.Tags != nil {
		if len(d.Tags) < 1 || len(d.Tags) > 50 {
			fe.add("Tags", "must have 1..50 entries, has %d", len(d.Tags))
		}
		for k, val := range d.Tags {
			f := fmt.Sprintf("Tags[%s]", k)
			v.length(f+" key", k, 1, 128)
			v.length(f, val, 0, 256)
		}
	}

	// Source.
	if d.Source == "" {
		fe.add("Source", "is required")
	} else if len(d.Source) > 1600 {
		fe.add("Source", "must be at most 1600 characters")
	} else if _, err := ParseSource(d.Source); err != nil {
		fe.add("Source", "%v", err)
	}
	if sp := d.SourceParameters; sp == nil || sp.SelfManagedKafkaParameters == nil {
		fe.add("SourceParameters.SelfManagedKafkaParameters", "is required (TopicName at least)")
	} else {
		v.kafkaSource("SourceParameters.SelfManagedKafkaParameters", sp.SelfManagedKafkaParameters)
		v.deadLetter(d, sp.SelfManagedKafkaParameters.DeadLetterConfig)
	}
	if sp := d.SourceParameters; sp != nil {
		v.filters(sp.FilterCriteria)
		for name, raw := range map[string][]byte{
			"ActiveMQBrokerParameters": sp.ActiveMQBrokerParameters, "DynamoDBStreamParameters": sp.DynamoDBStreamParameters,
			"KinesisStreamParameters": sp.KinesisStreamParameters, "ManagedStreamingKafkaParameters": sp.ManagedStreamingKafkaParameters,
			"RabbitMQBrokerParameters": sp.RabbitMQBrokerParameters, "SqsQueueParameters": sp.SqsQueueParameters,
		} {
			if present(raw) {
				fe.add("SourceParameters."+name, "not supported: Sluice sources are self-managed Kafka (SelfManagedKafkaParameters)")
			}
		}
	}

	// Enrichment: its plugin checks the string and the members it owns.
	enrKind := ""
	var enr *plugin.EnricherSpec
	if d.Enrichment != "" && d.Enrichment != "$" {
		if len(d.Enrichment) > 1600 {
			fe.add("Enrichment", "must be at most 1600 characters")
		} else if kind, err := endpointKind(d.Enrichment); err != nil {
			fe.add("Enrichment", "%v", err)
		} else if s, ok := reg.EnricherSpec(d.Enrichment); !ok {
			fe.add("Enrichment", "enrichment kind %q is not supported (registered: %s)", kind, strings.Join(reg.EnricherKinds(), ", "))
		} else {
			enrKind, enr = kind, &s
		}
	}
	if ep := d.EnrichmentParameters; ep != nil {
		if ep.InputTemplate != nil {
			v.template("EnrichmentParameters.InputTemplate", *ep.InputTemplate)
		}
		for _, m := range ep.members() {
			if present(m.raw) {
				var members []string
				if enr != nil {
					members = enr.Members
				}
				v.member("EnrichmentParameters", m.name, enrKind, members, reg.EnricherMemberKinds(m.name))
				v.localFiles("EnrichmentParameters."+m.name, m.raw)
			}
		}
	}
	if enr != nil && enr.Validate != nil {
		if c, err := d.EnrichmentCheck(); err != nil {
			fe.add("EnrichmentParameters", "%v", err)
		} else {
			fe = append(fe, enr.Validate(c)...)
		}
	}

	// Target, likewise.
	tgtKind := ""
	var tgt *plugin.TargetSpec
	if d.Target == "" {
		fe.add("Target", "is required")
	} else if len(d.Target) > 1600 {
		fe.add("Target", "must be at most 1600 characters")
	} else if kind, err := endpointKind(d.Target); err != nil {
		fe.add("Target", "%v", err)
	} else if s, ok := reg.TargetSpec(d.Target); !ok {
		fe.add("Target", "target kind %q is not supported (registered: %s)", kind, strings.Join(reg.TargetKinds(), ", "))
		v.localFile("Target", d.Target)
	} else {
		tgtKind, tgt = kind, &s
		v.localFile("Target", d.Target)
	}
	if tp := d.TargetParameters; tp != nil {
		if tp.InputTemplate != nil {
			v.template("TargetParameters.InputTemplate", *tp.InputTemplate)
		}
		for _, m := range tp.members() {
			if present(m.raw) {
				var members []string
				if tgt != nil {
					members = tgt.Members
				}
				v.member("TargetParameters", m.name, tgtKind, members, reg.TargetMemberKinds(m.name))
				v.localFiles("TargetParameters."+m.name, m.raw)
			}
		}
	}
	if tgt != nil && tgt.Validate != nil {
		if c, err := d.TargetCheck(); err != nil {
			fe.add("TargetParameters", "%v", err)
		} else {
			fe = append(fe, tgt.Validate(c)...)
		}
	}

	v.logConfiguration(d.LogConfiguration)
	return fe.sorted()
}

type validator struct {
	fe    *FieldErrors
	reg   *plugin.Registry
	files *[]LocalFile // nil unless LocalFiles collects them (localfiles.go)
}

// member checks that a plugin-owned member of p ("TargetParameters", "EnrichmentParameters") belongs to
// the plugin of the pipe's part: of kind (empty when the part is absent or invalid, which is reported
// elsewhere), owning members. owners are the kinds of the registered plugins owning the member, for the
// message.
func (v *validator) member(p, name, kind string, members, owners []string) {
	what := strings.TrimSuffix(p, "Parameters") // "Target", "Enrichment"
	switch {
	case contains(members, name):
	case len(owners) == 0:
		v.fe.add(p+"."+name, "not supported: no %s plugin of this Sluice uses it", strings.ToLower(what))
	case kind == "":
		// The part is absent or invalid: whether the member fits it cannot be judged.
	default:
		v.fe.add(p+"."+name, "applies only to %s %ss, which this pipe's %s (%s) is not", strings.Join(owners, ", "),
			strings.ToLower(what), what, kind)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// deadLetter checks the dead-letter destination: a target kind the registry has, whose plugin's Validate
// accepts it as one (plugin.Check.DeadLetter; its problems with "Target" are reported on the Arn).
func (v *validator) deadLetter(d *Definition, dl *DeadLetterConfig) {
	if dl == nil {
		return
	}
	const f = deadLetterField
	if dl.Arn == "" {
		v.fe.add(f, "is required")
		return
	}
	if len(dl.Arn) > 1600 {
		v.fe.add(f, "must be at most 1600 characters")
		return
	}
	kind, err := endpointKind(dl.Arn)
	if err != nil {
		v.fe.add(f, "%v", err)
		return
	}
	v.localFile(f, dl.Arn)
	s, ok := v.reg.TargetSpec(dl.Arn)
	if !ok {
		v.fe.add(f, "dead-letter destination kind %q is not supported (registered: %s)", kind, strings.Join(v.reg.TargetKinds(), ", "))
		return
	}
	if s.Validate == nil {
		return
	}
	for _, e := range s.Validate(d.DeadLetterCheck(dl.Arn)) {
		if e.Field == "Target" {
			e.Field = f
		}
		*v.fe = append(*v.fe, e)
	}
}

func (v *validator) length(field, s string, min, max int) {
	*v.fe = append(*v.fe, fieldcheck.Length(field, s, min, max)...)
}

func (v *validator) match(field, s string, re *regexp.Regexp, msg string) {
	*v.fe = append(*v.fe, fieldcheck.Match(field, s, re, msg)...)
}

func (v *validator) enum(field, s string, allowed ...string) {
	*v.fe = append(*v.fe, fieldcheck.Enum(field, s, allowed...)...)
}

func (v *validator) intRange(field string, n *int, min, max int) {
	*v.fe = append(*v.fe, fieldcheck.IntRange(field, n, min, max)...)
}

func (v *validator) secretRef(field, s string) {
	errs := fieldcheck.SecretRef(field, s)
	*v.fe = append(*v.fe, errs...)
	if len(errs) == 0 {
		v.localFile(field, s)
	}
}

// kafkaSource validates the source parameters and returns the batch size (0 when unset).
func (v *validator) kafkaSource(p string, k *SelfManagedKafkaParameters) int {
	if k.TopicName == "" {
		v.fe.add(p+".TopicName", "is required")
	} else if err := fieldcheck.CheckTopic(k.TopicName); err != nil {
		v.fe.add(p+".TopicName", "%v", err)
	}
	v.enum(p+".StartingPosition", k.StartingPosition, "TRIM_HORIZON", "LATEST")
	v.bootstrapServers(p+".AdditionalBootstrapServers", k.AdditionalBootstrapServers)
	v.intRange(p+".BatchSize", k.BatchSize, 1, MaxBatchSize)
	v.intRange(p+".MaximumBatchingWindowInSeconds", k.MaximumBatchingWindowInSeconds, 0, MaxBatchingWindow)
	if k.ConsumerGroupID != "" {
		v.length(p+".ConsumerGroupID", k.ConsumerGroupID, 1, 200)
		v.match(p+".ConsumerGroupID", k.ConsumerGroupID, reGroupID, "must match [a-zA-Z0-9-/*:_+=.@]*")
	}
	v.credentials(p+".Credentials", k.Credentials)
	if k.ServerRootCaCertificate != "" {
		v.secretRef(p+".ServerRootCaCertificate", k.ServerRootCaCertificate)
	}
	if vpc := k.Vpc; vpc != nil {
		if len(vpc.Subnets) < 1 || len(vpc.Subnets) > 16 {
			v.fe.add(p+".Vpc.Subnets", "must have 1..16 entries")
		}
		for i, s := range vpc.Subnets {
			f := fmt.Sprintf("%s.Vpc.Subnets[%d]", p, i)
			v.length(f, s, 0, 1024)
			v.match(f, s, reSubnet, "must be a subnet ID (subnet-...)")
		}
		if len(vpc.SecurityGroup) < 1 || len(vpc.SecurityGroup) > 5 {
			v.fe.add(p+".Vpc.SecurityGroup", "must have 1..5 entries")
		}
		for i, s := range vpc.SecurityGroup {
			f := fmt.Sprintf("%s.Vpc.SecurityGroup[%d]", p, i)
			v.length(f, s, 0, 1024)
			v.match(f, s, reSG, "must be a security group ID (sg-...)")
		}
	}
	if k.MaximumRetryAttempts != nil {
		v.intRange(p+".MaximumRetryAttempts", k.MaximumRetryAttempts, -1, 10000)
	}
	if n := k.MaximumRecordAgeInSeconds; n != nil && *n != -1 && (*n < 60 || *n > 604800) {
		v.fe.add(p+".MaximumRecordAgeInSeconds", "must be -1 (no limit) or 60..604800, is %d", *n)
	}
	if k.BatchSize == nil {
		return 0
	}
	return *k.BatchSize
}

func (v *validator) bootstrapServers(field string, servers []string) {
	*v.fe = append(*v.fe, fieldcheck.BootstrapServers(field, servers)...)
}

func (v *validator) credentials(field string, c *KafkaCredentials) {
	*v.fe = append(*v.fe, fieldcheck.Credentials(field, c)...)
	if c != nil {
		for _, m := range []struct{ name, ref string }{{"BasicAuth", c.BasicAuth}, {"SaslScram256Auth", c.SaslScram256Auth},
			{"SaslScram512Auth", c.SaslScram512Auth}, {"ClientCertificateTlsAuth", c.ClientCertificateTlsAuth}} {
			if m.ref != "" && fieldcheck.CheckSecretRef(m.ref) == nil {
				v.localFile(field+"."+m.name, m.ref)
			}
		}
	}
}

func (v *validator) filters(fc *FilterCriteria) {
	if fc == nil {
		return
	}
	const p = "SourceParameters.FilterCriteria.Filters"
	if len(fc.Filters) > MaxFilters {
		v.fe.add(p, "must have at most %d filters, has %d", MaxFilters, len(fc.Filters))
	}
	for i, f := range fc.Filters {
		field := fmt.Sprintf("%s[%d].Pattern", p, i)
		switch n := utf8.RuneCountInString(f.Pattern); {
		case n == 0:
			v.fe.add(field, "must not be empty")
		case n > MaxPatternLength:
			v.fe.add(field, "must be at most %d characters, is %d", MaxPatternLength, n)
		default:
			if err := validatePattern(f.Pattern); err != nil {
				v.fe.add(field, "invalid event pattern: %v", err)
			}
		}
	}
}

func (v *validator) template(field, t string) {
	if n := utf8.RuneCountInString(t); n > MaxTemplateLength {
		v.fe.add(field, "must be at most %d characters, is %d", MaxTemplateLength, n)
		return
	}
	if t == "" {
		return
	}
	if err := validateTemplate(t); err != nil {
		v.fe.add(field, "invalid input template: %v", err)
	}
}

func (v *validator) logConfiguration(l *LogConfiguration) {
	if l == nil {
		return
	}
	const p = "LogConfiguration"
	if l.Level == "" {
		v.fe.add(p+".Level", "is required")
	} else {
		v.enum(p+".Level", l.Level, "OFF", "ERROR", "INFO", "TRACE")
	}
	if len(l.IncludeExecutionData) > 1 {
		v.fe.add(p+".IncludeExecutionData", "must have at most 1 entry")
	}
	for i, s := range l.IncludeExecutionData {
		v.enum(fmt.Sprintf("%s.IncludeExecutionData[%d]", p, i), s, "ALL")
	}
	for name, raw := range map[string][]byte{"CloudwatchLogsLogDestination": l.CloudwatchLogsLogDestination,
		"FirehoseLogDestination": l.FirehoseLogDestination, "S3LogDestination": l.S3LogDestination} {
		if present(raw) {
			v.fe.add(p+"."+name, "not supported: Sluice writes execution logs as JSON lines to its standard error")
		}
	}
}

// present reports whether a raw member was given (JSON null counts as absent).
func present(raw []byte) bool { return len(raw) > 0 && string(raw) != "null" }
