package pipe

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/plugin"
)

var (
	reName       = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)
	reRoleArn    = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z0-9+=,.@\-_/]+$`)
	reKms        = regexp.MustCompile(`^[a-zA-Z0-9_\-/:]*$`)
	reGroupID    = regexp.MustCompile(`^[a-zA-Z0-9-\/*:_+=.@-]*$`)
	reSubnet     = regexp.MustCompile(`^subnet-[0-9a-z]*$`)
	reSG         = regexp.MustCompile(`^sg-[0-9a-zA-Z]*$`)
	reHeaderKey  = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9a-zA-Z]+$")
	reHeaderVal  = regexp.MustCompile(`^[ \t]*[\x20-\x7E]+[ \t]*$`)
	reQueryKey   = regexp.MustCompile(`^[^\x00-\x1F\x7F]+$`)
	reQueryVal   = regexp.MustCompile(`^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+$`)
	reNotBlank   = regexp.MustCompile(`\S`)
	httpMethods  = []string{"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}
	oauthMethods = []string{"GET", "POST", "PUT"}
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

// Validate reports every problem of a defaulted definition (call SetDefaults first), each by field
// path; it returns nil when the definition is valid. It performs no I/O. Target and Enrichment ARNs
// are accepted only when plugin.Default has a plugin of their kind.
func (d *Definition) Validate() FieldErrors {
	return d.validate(plugin.Default)
}

func (d *Definition) validate(reg *plugin.Registry) FieldErrors {
	return d.validateCollect(reg, nil)
}

// validateCollect is validate, also listing the definition's local files into files when it is not nil
// (LocalFiles), so that the walk over the members exists once.
func (d *Definition) validateCollect(reg *plugin.Registry, files *[]LocalFile) FieldErrors {
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
	v.enum("DesiredState", d.DesiredState, "RUNNING", "STOPPED")
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
	var batchSize int
	if sp := d.SourceParameters; sp == nil || sp.SelfManagedKafkaParameters == nil {
		fe.add("SourceParameters.SelfManagedKafkaParameters", "is required (TopicName at least)")
	} else {
		batchSize = v.kafkaSource("SourceParameters.SelfManagedKafkaParameters", sp.SelfManagedKafkaParameters)
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

	// Enrichment.
	var enr Endpoint
	if d.Enrichment != "" && d.Enrichment != "$" {
		if len(d.Enrichment) > 1600 {
			fe.add("Enrichment", "must be at most 1600 characters")
		} else if e, err := ParseEndpoint(d.Enrichment); err != nil {
			fe.add("Enrichment", "%v", err)
		} else if e.IsHTTP() || (e.ARN != "" && v.hasEnricher(d.Enrichment)) {
			enr = e
			v.pluginEnrichment(d)
		} else {
			fe.add("Enrichment", "enrichment kind %q is not supported: use an http(s):// URL%s", e.Kind, v.arnKinds(false))
		}
	}
	if ep := d.EnrichmentParameters; ep != nil {
		if ep.InputTemplate != nil {
			v.template("EnrichmentParameters.InputTemplate", *ep.InputTemplate)
		}
		if ep.HttpParameters != nil && enr.Kind != "" && !enr.IsHTTP() && enr.Kind != "events" && enr.Kind != "execute-api" {
			fe.add("EnrichmentParameters.HttpParameters", "applies only to HTTP enrichments, not %s", enr.Kind)
		}
		if ep.ApiDestinationParameters != nil && enr.Kind != "" && !enr.IsHTTP() {
			fe.add("EnrichmentParameters.ApiDestinationParameters", "applies only to http(s):// enrichments, not %s", enr.Kind)
		}
		if ep.HttpParameters != nil && enr.URL == nil {
			v.httpParams("EnrichmentParameters.HttpParameters", ep.HttpParameters, enr)
		}
		v.apiDestination("EnrichmentParameters.ApiDestinationParameters", ep.ApiDestinationParameters)
	}
	if enr.URL != nil {
		var hp *HttpParameters
		if d.EnrichmentParameters != nil {
			hp = d.EnrichmentParameters.HttpParameters
		}
		v.httpParams("EnrichmentParameters.HttpParameters", hp, enr)
	}
	if enr.IsHTTP() && batchSize > 1 {
		fe.add("SourceParameters.SelfManagedKafkaParameters.BatchSize", "must be 1 with an HTTP enrichment, which takes one event per request")
	}

	// Target.
	var tgt Endpoint
	if d.Target == "" {
		fe.add("Target", "is required")
	} else if len(d.Target) > 1600 {
		fe.add("Target", "must be at most 1600 characters")
	} else if e, err := ParseEndpoint(d.Target); err != nil {
		fe.add("Target", "%v", err)
	} else if e.ARN != "" && !v.hasTarget(d.Target) {
		fe.add("Target", "target kind %q is not supported: use file://, http(s)://, kafka://%s", e.Kind, v.arnKinds(true))
	} else {
		tgt = e
		v.localFile("Target", d.Target)
		v.pluginTarget(d)
	}
	v.targetParams(d.TargetParameters, tgt)
	if tgt.IsHTTP() && batchSize > 1 {
		fe.add("SourceParameters.SelfManagedKafkaParameters.BatchSize", "must be 1 with an HTTP target, which takes one event per request (as Pipes requires for API destinations)")
	}

	v.logConfiguration(d.LogConfiguration)
	return fe.sorted()
}

type validator struct {
	fe    *FieldErrors
	reg   *plugin.Registry
	files *[]LocalFile // nil unless LocalFiles collects them (localfiles.go)
}

func (v *validator) hasTarget(s string) bool {
	if v.reg == nil {
		return false
	}
	_, ok := v.reg.TargetSpec(s)
	return ok
}

func (v *validator) hasEnricher(s string) bool {
	if v.reg == nil {
		return false
	}
	_, ok := v.reg.EnricherSpec(s)
	return ok
}

// arnKinds lists the registered ARN kinds for an error message.
func (v *validator) arnKinds(targets bool) string {
	if v.reg == nil || !targets {
		return ""
	}
	var arns []string
	for _, k := range v.reg.TargetKinds() {
		switch k {
		case "file", "http", "https", "kafka":
		default:
			arns = append(arns, k)
		}
	}
	if len(arns) == 0 {
		return ""
	}
	sort.Strings(arns)
	return " or an ARN of: " + strings.Join(arns, ", ")
}

func (v *validator) length(field, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && min == 1:
		v.fe.add(field, "must not be empty")
	case n < min || n > max:
		v.fe.add(field, "must be %d..%d characters, is %d", min, max, n)
	}
}

func (v *validator) match(field, s string, re *regexp.Regexp, msg string) {
	if s != "" && !re.MatchString(s) {
		v.fe.add(field, "%s", msg)
	}
}

func (v *validator) enum(field, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fe.add(field, "must be one of %s, not %q", strings.Join(allowed, ", "), s)
}

func (v *validator) intRange(field string, n *int, min, max int) {
	if n != nil && (*n < min || *n > max) {
		v.fe.add(field, "must be %d..%d, is %d", min, max, *n)
	}
}

func (v *validator) secretRef(field, s string) {
	if err := validSecretRef(s); err != nil {
		v.fe.add(field, "%v", err)
	} else {
		v.localFile(field, s)
	}
}

// kafkaSource validates the source parameters and returns the batch size (0 when unset).
func (v *validator) kafkaSource(p string, k *SelfManagedKafkaParameters) int {
	if k.TopicName == "" {
		v.fe.add(p+".TopicName", "is required")
	} else if err := validTopic(k.TopicName); err != nil {
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
	if dl := k.DeadLetterConfig; dl != nil {
		f := p + ".DeadLetterConfig.Arn"
		if dl.Arn == "" {
			v.fe.add(f, "is required")
		} else if len(dl.Arn) > 1600 {
			v.fe.add(f, "must be at most 1600 characters")
		} else if e, err := ParseEndpoint(dl.Arn); err != nil {
			v.fe.add(f, "%v", err)
		} else if e.IsHTTP() || (e.ARN != "" && !v.hasTarget(dl.Arn)) {
			v.fe.add(f, "dead-letter destination kind %q is not supported: use kafka://host:port/topic or file:///path%s", e.Kind, v.arnKinds(true))
		} else {
			v.localFile(f, dl.Arn)
		}
	}
	if k.BatchSize == nil {
		return 0
	}
	return *k.BatchSize
}

func (v *validator) bootstrapServers(field string, servers []string) {
	if len(servers) > 2 {
		v.fe.add(field, "must have at most 2 entries, has %d", len(servers))
	}
	for i, s := range servers {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(s) > 300 {
			v.fe.add(f, "must be at most 300 characters")
		} else if err := validHostPort(s); err != nil {
			v.fe.add(f, "%v", err)
		}
	}
}

func (v *validator) credentials(field string, c *KafkaCredentials) {
	if c == nil {
		return
	}
	set := 0
	for name, ref := range map[string]string{"BasicAuth": c.BasicAuth, "SaslScram256Auth": c.SaslScram256Auth,
		"SaslScram512Auth": c.SaslScram512Auth, "ClientCertificateTlsAuth": c.ClientCertificateTlsAuth} {
		if ref != "" {
			set++
			v.secretRef(field+"."+name, ref)
		}
	}
	if set != 1 {
		v.fe.add(field, "must set exactly one of BasicAuth, SaslScram256Auth, SaslScram512Auth, ClientCertificateTlsAuth (has %d)", set)
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

// dynamic validates a parameter value that may be a JSON path.
func (v *validator) dynamic(field, val string, re *regexp.Regexp, msg string) {
	if isPath(val) {
		if err := validatePath(val); err != nil {
			v.fe.add(field, "%v", err)
		}
		return
	}
	v.match(field, val, re, msg)
}

func (v *validator) httpParams(p string, h *HttpParameters, e Endpoint) {
	if h == nil {
		if e.URL != nil {
			if n := pathWildcards(e.URL); n > 0 {
				v.fe.add(p+".PathParameterValues", "the URL path has %d \"*\" wildcards and needs as many values", n)
			}
		}
		return
	}
	for i, val := range h.PathParameterValues {
		f := fmt.Sprintf("%s.PathParameterValues[%d]", p, i)
		v.length(f, val, 1, 512)
		v.dynamic(f, val, reNotBlank, "must not be blank")
	}
	if e.URL != nil {
		if n := pathWildcards(e.URL); n != len(h.PathParameterValues) {
			v.fe.add(p+".PathParameterValues", "has %d values but the URL path has %d \"*\" wildcards", len(h.PathParameterValues), n)
		}
	}
	for k, val := range h.HeaderParameters {
		f := fmt.Sprintf("%s.HeaderParameters[%s]", p, k)
		v.length(f+" name", k, 1, 512)
		v.match(f+" name", k, reHeaderKey, "must be an HTTP header name (a token)")
		v.length(f, val, 0, 512)
		v.dynamic(f, val, reHeaderVal, "must be printable ASCII")
	}
	for k, val := range h.QueryStringParameters {
		f := fmt.Sprintf("%s.QueryStringParameters[%s]", p, k)
		v.length(f+" name", k, 1, 512)
		v.dynamic(f+" name", k, reQueryKey, "must not hold control characters")
		v.length(f, val, 0, 512)
		v.dynamic(f, val, reQueryVal, "must not hold control characters")
	}
}

func (v *validator) apiDestination(p string, a *ApiDestinationParameters) {
	if a == nil {
		return
	}
	if a.HttpMethod != "" {
		v.enum(p+".HttpMethod", a.HttpMethod, httpMethods...)
	}
	v.intRange(p+".InvocationRateLimitPerSecond", a.InvocationRateLimitPerSecond, 1, 1000000)
	c := a.Connection
	if c == nil {
		return
	}
	p += ".Connection"
	v.enum(p+".AuthorizationType", c.AuthorizationType, "BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS")
	ap := c.AuthParameters
	if ap == nil {
		v.fe.add(p+".AuthParameters", "is required")
		return
	}
	p += ".AuthParameters"
	want := map[string]string{"BASIC": "BasicAuthParameters", "API_KEY": "ApiKeyAuthParameters", "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters"}[c.AuthorizationType]
	has := map[string]bool{"BasicAuthParameters": ap.BasicAuthParameters != nil, "ApiKeyAuthParameters": ap.ApiKeyAuthParameters != nil, "OAuthParameters": ap.OAuthParameters != nil}
	for name, ok := range has {
		if ok && name != want && want != "" {
			v.fe.add(p+"."+name, "does not match AuthorizationType %s", c.AuthorizationType)
		}
	}
	if want != "" && !has[want] {
		v.fe.add(p+"."+want, "is required for AuthorizationType %s", c.AuthorizationType)
	}
	if b := ap.BasicAuthParameters; b != nil {
		v.secretRef(p+".BasicAuthParameters.SecretArn", b.SecretArn)
	}
	if k := ap.ApiKeyAuthParameters; k != nil {
		v.length(p+".ApiKeyAuthParameters.ApiKeyName", k.ApiKeyName, 1, 512)
		v.match(p+".ApiKeyAuthParameters.ApiKeyName", k.ApiKeyName, reHeaderKey, "must be an HTTP header name (a token)")
		v.secretRef(p+".ApiKeyAuthParameters.SecretArn", k.SecretArn)
	}
	if o := ap.OAuthParameters; o != nil {
		f := p + ".OAuthParameters"
		if e, err := ParseEndpoint(o.AuthorizationEndpoint); o.AuthorizationEndpoint == "" {
			v.fe.add(f+".AuthorizationEndpoint", "is required")
		} else if err != nil || !e.IsHTTP() {
			v.fe.add(f+".AuthorizationEndpoint", "must be an http(s) URL of at most 2048 characters")
		}
		if o.HttpMethod != "" {
			v.enum(f+".HttpMethod", o.HttpMethod, oauthMethods...)
		}
		v.secretRef(f+".SecretArn", o.SecretArn)
		if hp := o.OAuthHttpParameters; hp != nil {
			for name, list := range map[string][]ConnectionParameter{"HeaderParameters": hp.HeaderParameters,
				"QueryStringParameters": hp.QueryStringParameters, "BodyParameters": hp.BodyParameters} {
				lf := f + ".OAuthHttpParameters." + name
				if len(list) > 100 {
					v.fe.add(lf, "must have at most 100 entries")
				}
				for i, kv := range list {
					v.length(fmt.Sprintf("%s[%d].Key", lf, i), kv.Key, 1, 512)
					v.length(fmt.Sprintf("%s[%d].Value", lf, i), kv.Value, 0, 512)
				}
			}
		}
	}
}

func (v *validator) targetParams(tp *TargetParameters, e Endpoint) {
	if tp == nil {
		if e.URL != nil {
			v.httpParams("TargetParameters.HttpParameters", nil, e)
		}
		return
	}
	const p = "TargetParameters"
	if tp.InputTemplate != nil {
		v.template(p+".InputTemplate", *tp.InputTemplate)
	}
	httpLike := e.IsHTTP() || e.Kind == "events" || e.Kind == "execute-api"
	if tp.HttpParameters != nil && e.Kind != "" && !httpLike {
		v.fe.add(p+".HttpParameters", "applies only to HTTP targets, not %s", e.Kind)
	}
	if tp.HttpParameters != nil || e.URL != nil {
		v.httpParams(p+".HttpParameters", tp.HttpParameters, e)
	}
	if tp.ApiDestinationParameters != nil {
		if e.Kind != "" && !e.IsHTTP() {
			v.fe.add(p+".ApiDestinationParameters", "applies only to http(s):// targets, not %s", e.Kind)
		}
		v.apiDestination(p+".ApiDestinationParameters", tp.ApiDestinationParameters)
	}
	if k := tp.KafkaParameters; k != nil {
		f := p + ".KafkaParameters"
		if e.Kind != "" && e.Kind != "kafka" {
			v.fe.add(f, "applies only to kafka:// targets, not %s", e.Kind)
		}
		if k.Key != "" {
			v.length(f+".Key", k.Key, 0, 256)
			v.dynamic(f+".Key", k.Key, reNotBlank, "must not be blank")
		}
		v.bootstrapServers(f+".AdditionalBootstrapServers", k.AdditionalBootstrapServers)
		v.credentials(f+".Credentials", k.Credentials)
		if k.ServerRootCaCertificate != "" {
			v.secretRef(f+".ServerRootCaCertificate", k.ServerRootCaCertificate)
		}
	}
	for name, raw := range tp.awsMembers() {
		if present(raw) {
			v.member(p, name, e, v.targetOwners(name))
		}
	}
}

// targetOwners returns the target kinds owning a TargetParameters member: the registered plugins', or,
// for a member no registered plugin owns, the service its Pipes target has (for the message).
func (v *validator) targetOwners(member string) []string {
	if v.reg != nil {
		if kinds := v.reg.TargetMemberKinds(member); len(kinds) > 0 {
			return kinds
		}
	}
	return nil
}

// member checks that a kind-specific member of p (TargetParameters, EnrichmentParameters) belongs to the
// pipe's endpoint e, whose registered spec then validates it (pluginChecks); owners are the kinds of
// the plugins owning it (none: no registered plugin uses it).
func (v *validator) member(p, name string, e Endpoint, owners []string) {
	for _, k := range owners {
		if k == e.Kind {
			return
		}
	}
	what := strings.TrimSuffix(p, "Parameters") // "Target", "Enrichment"
	switch {
	case len(owners) == 0:
		v.fe.add(p+"."+name, "not supported: no %s plugin of this Sluice uses it", strings.ToLower(what))
	case e.Kind == "":
		// The endpoint itself is invalid and reported; whether the member fits it cannot be judged.
	default:
		v.fe.add(p+"."+name, "applies only to %s %ss (%s), which this pipe's %s is not", strings.Join(owners, ", "),
			strings.ToLower(what), memberForms(owners), what)
	}
}

// memberForms shows how endpoints of kinds are written: "arn:aws:sqs:..." or "kafka://...".
func memberForms(kinds []string) string {
	forms := make([]string, len(kinds))
	for i, k := range kinds {
		switch k {
		case "file", "http", "https", "kafka":
			forms[i] = k + "://..."
		default:
			forms[i] = "arn:aws:" + k + ":..."
		}
	}
	return strings.Join(forms, ", ")
}

// awsMembers returns the raw AWS target members by name.
func (tp *TargetParameters) awsMembers() map[string][]byte {
	return map[string][]byte{
		"BatchJobParameters": tp.BatchJobParameters, "CloudWatchLogsParameters": tp.CloudWatchLogsParameters,
		"EcsTaskParameters": tp.EcsTaskParameters, "EventBridgeEventBusParameters": tp.EventBridgeEventBusParameters,
		"KinesisStreamParameters": tp.KinesisStreamParameters, "LambdaFunctionParameters": tp.LambdaFunctionParameters,
		"RedshiftDataParameters": tp.RedshiftDataParameters, "SageMakerPipelineParameters": tp.SageMakerPipelineParameters,
		"SqsQueueParameters": tp.SqsQueueParameters, "StepFunctionStateMachineParameters": tp.StepFunctionStateMachineParameters,
		"TimestreamParameters": tp.TimestreamParameters,
	}
}

// pluginTarget hands the target's parameters to its registered spec's Validate.
func (v *validator) pluginTarget(d *Definition) {
	if v.reg == nil {
		return
	}
	spec, ok := v.reg.TargetSpec(d.Target)
	if !ok || spec.Validate == nil {
		return
	}
	c, err := d.TargetCheck()
	if err != nil {
		v.fe.add("TargetParameters", "%v", err)
		return
	}
	*v.fe = append(*v.fe, spec.Validate(c)...)
}

// pluginEnrichment hands the enrichment's parameters to its registered spec's Validate.
func (v *validator) pluginEnrichment(d *Definition) {
	if v.reg == nil || d.Enrichment == "" {
		return
	}
	spec, ok := v.reg.EnricherSpec(d.Enrichment)
	if !ok || spec.Validate == nil {
		return
	}
	c, err := d.EnrichmentCheck()
	if err != nil {
		v.fe.add("EnrichmentParameters", "%v", err)
		return
	}
	*v.fe = append(*v.fe, spec.Validate(c)...)
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
