package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/internal/pipe"
)

// createForm holds the create form's fields as typed, so that a refused form comes back as it was.
type createForm struct {
	Name, Description                      string
	Source, Topic, Position, Auth, AuthRef string
	Filters                                string
	Enrichment, EnrichmentTemplate         string
	Target, TargetTemplate, TargetParams   string
	LogLevel                               string
}

func formFrom(r *http.Request) createForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return createForm{Name: v("name"), Description: v("description"), Source: v("source"), Topic: v("topic"),
		Position: v("position"), Auth: v("auth"), AuthRef: v("auth_ref"), Filters: r.PostFormValue("filters"),
		Enrichment: v("enrichment"), EnrichmentTemplate: r.PostFormValue("enrichment_template"), Target: v("target"),
		TargetTemplate: r.PostFormValue("target_template"), TargetParams: v("target_params"),
		LogLevel: v("log_level")}
}

// authMembers are the Credentials members of SelfManagedKafkaAccessConfigurationCredentials.
var authMembers = []string{"BasicAuth", "SaslScram512Auth", "SaslScram256Auth", "ClientCertificateTlsAuth"}

// splitPatterns reads the filter box: one pattern when the whole text is one JSON value (a pattern
// written over several lines), otherwise one pattern per non-empty line.
func splitPatterns(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return []string{s}
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// body builds the CreatePipe request body; problems the form itself can tell (target parameters that
// are not a JSON object) come back by form field.
func (f createForm) body() ([]byte, map[string][]string) {
	local := map[string][]string{}
	def := map[string]any{"Source": f.Source, "Target": f.Target}
	if f.Description != "" {
		def["Description"] = f.Description
	}
	smk := map[string]any{"TopicName": f.Topic}
	if f.Position != "" {
		smk["StartingPosition"] = f.Position
	}
	if f.Auth != "" {
		smk["Credentials"] = map[string]string{f.Auth: f.AuthRef}
	}
	sp := map[string]any{"SelfManagedKafkaParameters": smk}
	if ps := splitPatterns(f.Filters); len(ps) > 0 {
		filters := make([]map[string]string, len(ps))
		for i, p := range ps {
			filters[i] = map[string]string{"Pattern": p}
		}
		sp["FilterCriteria"] = map[string]any{"Filters": filters}
	}
	def["SourceParameters"] = sp
	if f.Enrichment != "" {
		def["Enrichment"] = f.Enrichment
		if f.EnrichmentTemplate != "" {
			def["EnrichmentParameters"] = map[string]any{"InputTemplate": f.EnrichmentTemplate}
		}
	}
	tp := map[string]any{}
	if f.TargetParams != "" {
		if err := json.Unmarshal([]byte(f.TargetParams), &tp); err != nil {
			local["target_params"] = []string{"must be a JSON object of TargetParameters members: " + err.Error()}
		}
	}
	if f.TargetTemplate != "" {
		tp["InputTemplate"] = f.TargetTemplate
	}
	if len(tp) > 0 {
		def["TargetParameters"] = tp
	}
	if f.LogLevel != "" && f.LogLevel != "OFF" {
		def["LogConfiguration"] = map[string]any{"Level": f.LogLevel}
	}
	b, _ := json.Marshal(def)
	return b, local
}

// formFields maps API field paths to the form field that shows their errors, most specific first.
var formFields = []struct{ prefix, field string }{
	{"Name", "name"},
	{"Description", "description"},
	{"SourceParameters.SelfManagedKafkaParameters.TopicName", "topic"},
	{"SourceParameters.SelfManagedKafkaParameters.StartingPosition", "position"},
	{"SourceParameters.SelfManagedKafkaParameters.Credentials", "auth"},
	{"SourceParameters.FilterCriteria", "filters"},
	{"SourceParameters", "source"},
	{"Source", "source"},
	{"EnrichmentParameters", "enrichment_template"},
	{"Enrichment", "enrichment"},
	{"TargetParameters.InputTemplate", "target_template"},
	{"TargetParameters", "target_params"},
	{"Target", "target"},
	{"LogConfiguration", "log_level"},
}

// formField returns the form field an API field path belongs to ("" when none does).
func formField(name string) string {
	for _, f := range formFields {
		if name == f.prefix || strings.HasPrefix(name, f.prefix+".") || strings.HasPrefix(name, f.prefix+"[") {
			return f.field
		}
	}
	return ""
}

// placeErrors sorts the errors of a refused request by the form field they name; the rest go under "".
func placeErrors(fields []FieldError, into map[string][]string) {
	for _, fe := range fields {
		f := formField(fe.Name)
		msg := fe.Name + ": " + fe.Message
		if f == "" {
			f = "general"
		}
		into[f] = append(into[f], msg)
	}
}

// createDoc serves the create page's document mode: the name and the CreatePipe body as JSON or YAML.
// "switch" rewrites the document in the other format; otherwise the pipe is created. Errors about the
// name show beside the name, the others beside the document, each naming its member.
func (c *Console) createDoc(w http.ResponseWriter, r *http.Request, s session, mode string) {
	name, doc := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("definition")
	errs := map[string][]string{}
	status := http.StatusOK
	switch sw := r.PostFormValue("switch"); {
	case r.Method != http.MethodPost:
		doc, _ = createForm{Position: "LATEST"}.bodyAs(mode)
	case sw == "json" || sw == "yaml":
		conv, err := convertDoc(doc, mode, sw)
		if err != nil {
			errs["definition"] = []string{err.Error()}
			status = http.StatusBadRequest
		} else {
			doc, mode = conv, sw
		}
	default:
		body, err := toJSON(doc, mode)
		switch {
		case err != nil:
			errs["definition"] = []string{err.Error()}
		case name == "":
			errs["name"] = []string{"Name: a pipe needs a name"}
		default:
			err = c.o.Backend.CreatePipe(r.Context(), name, body)
			if err == nil {
				http.Redirect(w, r, Prefix+"pipes/"+url.PathEscape(name)+"?done=created&format="+mode, http.StatusSeeOther)
				return
			}
			if fe := fieldsOf(err); len(fe) > 0 {
				for _, e := range fe {
					f := "definition"
					if formField(e.Name) == "name" {
						f = "name"
					}
					errs[f] = append(errs[f], e.Name+": "+e.Message)
				}
			} else {
				errs["definition"] = []string{err.Error()}
			}
		}
		status = http.StatusBadRequest
		if len(errs) == 0 {
			status = http.StatusOK
		}
	}
	send(w, status, c.createDocView(s, name, doc, mode, errs))
}

// bodyAs is the form's CreatePipe body written as JSON or YAML.
func (f createForm) bodyAs(format string) (string, map[string][]string) {
	body, local := f.body()
	doc, _ := formatJSON(body, format)
	return doc, local
}

func (c *Console) createPage(w http.ResponseWriter, r *http.Request, s session) {
	mode := r.URL.Query().Get("mode")
	if r.Method == http.MethodPost {
		mode = r.PostFormValue("mode")
	}
	if mode == "json" || mode == "yaml" {
		c.createDoc(w, r, s, mode)
		return
	}
	f := createForm{Position: "LATEST", Target: ""}
	errs := map[string][]string{}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		f = formFrom(r)
		if sw := r.PostFormValue("switch"); sw == "json" || sw == "yaml" {
			// "Write it as JSON/YAML": carry what was typed over into the document.
			doc, local := f.bodyAs(sw)
			status := http.StatusOK
			if len(local) > 0 {
				status = http.StatusBadRequest
			}
			send(w, status, c.createDocView(s, f.Name, doc, sw, local))
			return
		}
		body, local := f.body()
		if f.Name == "" {
			local["name"] = append(local["name"], "Name: a pipe needs a name")
		}
		if len(local) == 0 {
			err := c.o.Backend.CreatePipe(r.Context(), f.Name, body)
			if err == nil {
				http.Redirect(w, r, Prefix+"pipes/"+url.PathEscape(f.Name)+"?done=created", http.StatusSeeOther)
				return
			}
			status = statusOf(err)
			if fe := fieldsOf(err); len(fe) > 0 {
				placeErrors(fe, errs)
			} else {
				errs["general"] = []string{err.Error()}
			}
		} else {
			errs = local
			status = http.StatusBadRequest
		}
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	send(w, status, c.createView(s, f, errs))
}

// fieldHelp is the create form's help text, after the Pipes API model's documentation of each member.
var fieldHelp = map[string]string{
	"name":                "The name of the pipe: 1 to 64 letters, digits, '.', '-' or '_'.",
	"description":         "A description of the pipe (at most 512 characters).",
	"source":              "The source: smk://host:port of one of the Kafka cluster's bootstrap servers.",
	"topic":               "The name of the topic that the pipe reads from.",
	"position":            "The position in the topic to start reading when the consumer group has no committed offsets: TRIM_HORIZON (the oldest record) or LATEST (new records only).",
	"auth":                "The credentials needed to access the cluster: the kind, and a reference to the secret (a Secrets Manager ARN, file:// or env:). The console never shows the secret's value.",
	"filters":             "The event patterns that decide which records reach the target (FilterCriteria): one JSON pattern, or one pattern per line. A record matching any of them is kept. Try them in the playground.",
	"enrichment":          "Optional: the ARN or URL of the enrichment (a Lambda function, an API destination, an https:// URL).",
	"enrichment_template": "Optional: the input template applied to events before the enrichment.",
	"target":              "The target: an ARN, a URL (https://, file://, kafka://) of a target plugin.",
	"target_template":     "Optional: the input template that reshapes each event before the target (Pipes input transformation). Preview it in the playground.",
	"log_level":           "The execution log's level (LogConfiguration.Level): which steps of each execution are logged, to standard error and to the pipe page. OFF logs none.",
	"target_params":       "Optional: other TargetParameters members as a JSON object (for example {\"KafkaParameters\": {...}}).",
}

// peekRequest asks for samples: of an existing pipe's source (Pipe), or of a source given in full
// (a CreatePipe body's Source and SourceParameters, from the create form).
type peekRequest struct {
	Pipe       string          `json:"pipe"`
	Definition json.RawMessage `json:"definition"`
	Form       *createForm     `json:"form"`
	Count      int             `json:"count"`
}

func (c *Console) peek(w http.ResponseWriter, r *http.Request) {
	var req peekRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading the request: " + err.Error()})
		return
	}
	var def pipe.Definition
	switch {
	case req.Pipe != "":
		raw, err := c.o.Backend.DescribePipe(r.Context(), req.Pipe)
		if err != nil {
			writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
			return
		}
		if err := json.Unmarshal(raw, &def); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "decoding the pipe: " + err.Error()})
			return
		}
		def.Name = req.Pipe
	case req.Form != nil:
		body, _ := req.Form.body()
		if err := json.Unmarshal(body, &def); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	case len(req.Definition) > 0:
		if err := json.Unmarshal(req.Definition, &def); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the definition: " + err.Error()})
			return
		}
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "name a pipe or give a source"})
		return
	}
	res, err := c.Peek(r.Context(), &def, req.Count)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *Console) try(w http.ResponseWriter, r *http.Request) {
	var req TryRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading the request: " + err.Error()})
		return
	}
	res, err := Try(req, c.o.Region, c.o.Account)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *Console) playgroundPage(w http.ResponseWriter, r *http.Request, s session) {
	pipes, err := c.o.Backend.ListPipes(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	name := r.URL.Query().Get("pipe")
	var patterns, tmpl string
	if name != "" {
		if raw, err := c.o.Backend.DescribePipe(r.Context(), name); err == nil {
			var d describe
			if json.Unmarshal(raw, &d) == nil {
				var ps []string
				if sp := d.SourceParameters; sp != nil && sp.FilterCriteria != nil {
					for _, f := range sp.FilterCriteria.Filters {
						ps = append(ps, f.Pattern)
					}
				}
				patterns = strings.Join(ps, "\n")
				if tp := d.TargetParameters; tp != nil && tp.InputTemplate != nil {
					tmpl = *tp.InputTemplate
				}
			}
		}
	}
	send(w, http.StatusOK, c.playgroundView(s, pipes, name, patterns, tmpl))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
