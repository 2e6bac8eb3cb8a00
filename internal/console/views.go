package console

import (
	"net/url"
	"strconv"
	"strings"
)

func (c *Console) errorPage(s session, title, msg string) string {
	return c.layout(s, "error", title, func(w *hw) {
		w.f("<p class=\"error\" role=\"alert\">%s</p>\n<p><a href=\"/\">Back to the pipes</a></p>\n", msg)
	})
}

func (c *Console) signInView(msg, keyID string) string {
	return c.layout(session{}, "signin", "Sign in", func(w *hw) {
		w.raw("<p>This server has access keys. Sign in with one of them: the access key id and its secret access key.</p>\n")
		if msg != "" {
			w.f("<p class=\"error\" role=\"alert\" id=\"signin-error\">%s</p>\n", msg)
		}
		w.f("<form method=\"post\" action=\"/console/signin\" class=\"form narrow\">\n"+
			"<div class=\"field\"><label for=\"access_key_id\">Access key id</label>"+
			"<input id=\"access_key_id\" name=\"access_key_id\" autocomplete=\"username\" required value=\"%s\"></div>\n"+
			"<div class=\"field\"><label for=\"secret_access_key\">Secret access key</label>"+
			"<input id=\"secret_access_key\" name=\"secret_access_key\" type=\"password\" autocomplete=\"current-password\" required></div>\n"+
			"<button type=\"submit\" id=\"signin\">Sign in</button>\n</form>\n", keyID)
	})
}

func (c *Console) listView(s session, rows []row, all int, name, state string) string {
	return c.layout(s, "list", "Pipes", func(w *hw) {
		w.f("<form method=\"get\" action=\"/\" class=\"filters\" role=\"search\" aria-label=\"Filter pipes\">\n"+
			"<label for=\"f-name\">Name contains</label> <input id=\"f-name\" name=\"name\" value=\"%s\">\n"+
			"<label for=\"f-state\">State</label> <select id=\"f-state\" name=\"state\"><option value=\"\">any</option>", name)
		for _, st := range listStates {
			w.f("<option%s>%s</option>", sel(st, state), st)
		}
		w.raw("</select>\n<button type=\"submit\">Filter</button> <a class=\"button\" href=\"/console/new\">Create a pipe</a>\n</form>\n")
		w.raw("<p class=\"live\" aria-live=\"polite\"><span id=\"live-status\">Live updates: connecting…</span></p>\n")
		w.f("<table class=\"pipes\" id=\"pipes\" data-filter-name=\"%s\" data-filter-state=\"%s\">\n<caption>%d of %d pipes</caption>\n", name, state, len(rows), all)
		w.raw("<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">State</th><th scope=\"col\">Source topic</th><th scope=\"col\">Target</th>" +
			"<th scope=\"col\" class=\"num\">Records/s</th><th scope=\"col\">Last minute</th><th scope=\"col\" class=\"num\">Lag</th>" +
			"<th scope=\"col\" class=\"num\">Failed executions</th><th scope=\"col\" class=\"num\">Dead letters</th></tr></thead>\n<tbody>\n")
		for _, x := range rows {
			w.f("<tr data-pipe=\"%s\"><th scope=\"row\"><a href=\"%s\">%s</a></th>", x.Name, pipeURL(x.Name), x.Name)
			w.f("<td data-k=\"state\"><span class=\"state state-%s\">%s</span>", x.State, x.State)
			if x.Reason != "" {
				w.f("<div class=\"reason\">%s</div>", x.Reason)
			}
			w.f("</td><td data-k=\"topic\"><code>%s</code></td><td data-k=\"target\"><code>%s</code></td>", x.Topic, x.Target)
			w.f("<td class=\"num\" data-k=\"rate\">%s</td>", num(x.Rate, 1))
			w.f("<td data-k=\"spark\"><svg class=\"spark\" viewBox=\"0 0 120 24\" role=\"img\" aria-label=\"records per second, last minute\" data-spark=\"%s\"></svg></td>", jsonAttr(x.Spark))
			w.f("<td class=\"num\" data-k=\"lag\">%d</td><td class=\"num\" data-k=\"failed\">%s</td><td class=\"num\" data-k=\"dead\">%s</td></tr>\n",
				x.Lag, num(x.Failed, 0), num(x.DeadLettered, 0))
		}
		if len(rows) == 0 {
			w.raw("<tr class=\"empty\"><td colspan=\"9\">No pipes. <a href=\"/console/new\">Create one</a>.</td></tr>\n")
		}
		w.raw("</tbody>\n</table>\n")
	})
}

func (c *Console) pipeView(s session, d *pipeData) string {
	p := d.Pipe
	return c.layout(s, "pipe", "Pipe "+p.Name, func(w *hw) {
		if d.Done != "" {
			w.f("<p class=\"ok\" role=\"status\">The pipe was %s.</p>\n", d.Done)
		}
		if d.ActionError != "" {
			w.f("<p class=\"error\" role=\"alert\" id=\"action-error\">%s</p>\n", d.ActionError)
		}
		w.f("<section class=\"summary\" aria-label=\"State\" data-pipe=\"%s\" id=\"pipe-state\">\n", p.Name)
		w.f("<p aria-live=\"polite\">State: <strong class=\"state state-%s\" id=\"state\">%s</strong> (desired: <span id=\"desired\">%s</span>)</p>\n",
			p.CurrentState, p.CurrentState, p.DesiredState)
		w.f("<p id=\"reason\" class=\"reason\">%s</p>\n", p.StateReason)
		w.f("<p>Source <code>%s</code>, topic <code>%s</code> → target <code>%s</code>", p.Source, d.Topic, p.Target)
		if p.Enrichment != "" {
			w.f(" (enrichment <code>%s</code>)", p.Enrichment)
		}
		w.raw("</p>\n<div class=\"actions\">\n")
		for _, a := range []struct{ action, label, cls string }{{"start", "Start", ""}, {"stop", "Stop", ""}, {"delete", "Delete", "danger"}} {
			w.f("<form method=\"post\" action=\"%s/%s\">%s<button type=\"submit\" id=\"%s\" class=\"%s\">%s</button></form>\n",
				pipeURL(p.Name), a.action, c.csrfField(s), a.action, a.cls, a.label)
		}
		w.f("<a class=\"button\" href=\"/console/playground?pipe=%s\">Open in the playground</a>\n</div>\n</section>\n", url.QueryEscape(p.Name))

		w.raw("<section aria-labelledby=\"h-counters\"><h2 id=\"h-counters\">Counters</h2>\n<dl class=\"counters\">\n")
		m := d.Metrics
		for _, x := range []struct {
			id, label string
			v         float64
		}{{"m-read", "Records read", m.RecordsRead}, {"m-filtered", "Records filtered out", m.RecordsFiltered},
			{"m-events", "Events into executions", m.Events}, {"m-failed", "Failed executions", m.Failed}, {"m-dead", "Dead letters", m.DeadLettered}} {
			w.f("<div><dt>%s</dt><dd id=\"%s\">%s</dd></div>\n", x.label, x.id, num(x.v, 0))
		}
		w.raw("</dl>\n</section>\n")

		w.raw("<section aria-labelledby=\"h-charts\"><h2 id=\"h-charts\">Last minutes</h2>\n" +
			"<p class=\"live\" aria-live=\"polite\"><span id=\"live-status\">Live updates: connecting…</span></p>\n")
		w.f("<div class=\"charts\" id=\"charts\" data-series=\"%s\">\n", jsonAttr(d.Series))
		for _, ch := range []struct{ s, label string }{{"rate", "Records read per second"}, {"duration", "Mean execution duration (ms)"},
			{"errors", "Failed executions per second"}} {
			w.f("<figure><figcaption>%s</figcaption><svg class=\"chart\" data-s=\"%s\" viewBox=\"0 0 300 60\" role=\"img\" aria-label=\"%s\"></svg>"+
				"<p class=\"last\" data-last=\"%s\"></p></figure>\n", ch.label, ch.s, ch.label, ch.s)
		}
		w.raw("</div>\n</section>\n")

		w.raw("<section aria-labelledby=\"h-lag\"><h2 id=\"h-lag\">Offsets and lag by partition</h2>\n" +
			"<p class=\"help\">Committed: the next offset the pipe's consumer group will read. End: the offset of the topic's next record. " +
			"Read from the cluster with the pipe's connection (no group membership), at most once a second.</p>\n")
		w.f("<p class=\"error\" id=\"offsets-error\" role=\"status\"%s>%s</p>\n", hiddenIf(d.OffsetsError == ""), d.OffsetsError)
		w.raw("<table class=\"lag\"><thead><tr><th scope=\"col\">Partition</th><th scope=\"col\" class=\"num\">Committed offset</th>" +
			"<th scope=\"col\" class=\"num\">End offset</th><th scope=\"col\" class=\"num\">Lag (records)</th></tr></thead>\n<tbody id=\"lag\">")
		lagRows(w, d.Offsets, d.Lag)
		w.raw("</tbody></table>\n</section>\n")

		if d.Members != nil { // cluster mode: app.js redraws the rows from the event stream
			w.raw("<section aria-labelledby=\"h-members\"><h2 id=\"h-members\">Members by node</h2>\n" +
				"<p class=\"help\">Where the leader placed the pipe's members, and the partitions the broker gave each " +
				"(the pipe's consumer group; each member is <code>&lt;group&gt;-&lt;node&gt;</code>).</p>\n<table class=\"members\"><thead><tr>" +
				"<th scope=\"col\">Node</th><th scope=\"col\">Member</th><th scope=\"col\">Partitions</th></tr></thead>\n<tbody id=\"members\">")
			for _, m := range d.Members {
				w.f("<tr><td>%s</td><td><code>%s</code></td><td>%s</td></tr>", m.Node, m.MemberID, partitionList(m.Partitions))
			}
			if len(d.Members) == 0 {
				w.raw("<tr><td colspan=\"3\">No member runs the pipe now.</td></tr>")
			}
			w.raw("</tbody></table>\n</section>\n")
		}

		w.raw("<section aria-labelledby=\"h-log\"><h2 id=\"h-log\">Recent execution-log records</h2>\n")
		if c.o.ExecutionLog == nil {
			w.raw("<p>This server does not keep the execution log.</p>\n")
		}
		w.raw("<table class=\"log\"><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Step</th><th scope=\"col\">Execution</th><th scope=\"col\">Error</th></tr></thead>\n<tbody id=\"log\">")
		for _, l := range d.Log {
			w.f("<tr><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td></tr>", l.Timestamp, l.MessageType, l.ExecutionID, l.Error)
		}
		if len(d.Log) == 0 {
			w.raw("<tr><td colspan=\"4\">No records yet (the pipe's LogConfiguration Level decides which steps are logged; OFF logs none).</td></tr>")
		}
		w.raw("</tbody></table>\n</section>\n")

		w.raw("<section aria-labelledby=\"h-def\"><h2 id=\"h-def\">Definition</h2>\n")
		w.f("<details><summary>DescribePipe as %s (secret values are never stored: only their references show)</summary><pre id=\"describe\">%s</pre></details>\n",
			strings.ToUpper(d.Format), d.Definition)
		w.f("<form method=\"post\" action=\"%s/edit\" class=\"form\">%s<input type=\"hidden\" name=\"format\" value=\"%s\">\n", pipeURL(p.Name), c.csrfField(s), d.Format)
		var errs []string
		if d.EditError != nil {
			errs = append(errs, d.EditError.Error())
			for _, fe := range fieldsOf(d.EditError) {
				errs = append(errs, fe.Name+": "+fe.Message)
			}
		}
		w.f("<div class=\"field\"><label for=\"definition\">Edit (an UpdatePipe request body, as %s)</label>\n"+
			"<textarea id=\"definition\" name=\"definition\" rows=\"18\" spellcheck=\"false\"%s>%s</textarea>\n"+
			"<p class=\"help\" id=\"definition-help\">Members left out are reset to their defaults, as UpdatePipe does. The source's topic and connection cannot change. "+
			"Errors name the member they are about (the same path in JSON and YAML).</p>\n",
			strings.ToUpper(d.Format), describedBy("definition", errs), d.EditBody)
		fieldErrors(w, "definition", errs)
		other := "yaml"
		if d.Format == "yaml" {
			other = "json"
		}
		// Update comes first: it is the button Enter submits.
		w.f("</div>\n<button type=\"submit\" id=\"update\">Update</button>\n"+
			"<button type=\"submit\" name=\"convert\" value=\"%s\" id=\"convert\">Show as %s</button>\n</form>\n</section>\n", other, strings.ToUpper(other))
	})
}

func (c *Console) createView(s session, f createForm, errs map[string][]string) string {
	return c.layout(s, "create", "Create a pipe", func(w *hw) {
		if g := errs["general"]; len(g) > 0 {
			w.raw("<div class=\"error\" role=\"alert\" id=\"general-error\">")
			for _, e := range g {
				w.f("<p>%s</p>", e)
			}
			w.raw("</div>\n")
		}
		w.f("<form method=\"post\" action=\"/console/new\" class=\"form\" id=\"create\" novalidate>%s\n", c.csrfField(s))
		w.raw("<fieldset><legend>Pipe</legend>\n")
		input(w, "name", "Name", f.Name, fieldHelp["name"], errs["name"], false)
		input(w, "description", "Description", f.Description, fieldHelp["description"], errs["description"], false)
		w.raw("</fieldset>\n<fieldset><legend>Source</legend>\n")
		input(w, "source", "Source (smk://host:port)", f.Source, fieldHelp["source"], errs["source"], false)
		input(w, "topic", "Topic", f.Topic, fieldHelp["topic"], errs["topic"], false)
		w.f("<div class=\"field\"><label for=\"position\">Starting position</label><select id=\"position\" name=\"position\"%s>", describedBy("position", errs["position"]))
		for _, p := range []string{"LATEST", "TRIM_HORIZON"} {
			w.f("<option%s>%s</option>", sel(p, f.Position), p)
		}
		w.f("</select><p class=\"help\" id=\"position-help\">%s</p>\n", fieldHelp["position"])
		fieldErrors(w, "position", errs["position"])
		w.f("</div>\n<div class=\"field\"><label for=\"auth\">Credentials</label><select id=\"auth\" name=\"auth\"%s><option value=\"\">none (PLAINTEXT)</option>",
			describedBy("auth", errs["auth"]))
		for _, a := range authMembers {
			w.f("<option%s>%s</option>", sel(a, f.Auth), a)
		}
		w.f("</select>\n<label for=\"auth_ref\">Secret reference</label><input id=\"auth_ref\" name=\"auth_ref\" value=\"%s\" aria-describedby=\"auth-help\" "+
			"placeholder=\"arn:aws:secretsmanager:…, file://…, env:…\">\n<p class=\"help\" id=\"auth-help\">%s</p>\n", f.AuthRef, fieldHelp["auth"])
		fieldErrors(w, "auth", errs["auth"])
		w.raw("</div>\n<p><button type=\"button\" id=\"check\">Check the connection</button> <span id=\"check-result\" role=\"status\" aria-live=\"polite\"></span></p>\n")
		w.raw("</fieldset>\n<fieldset><legend>Filter</legend>\n")
		input(w, "filters", "Filter patterns", f.Filters, fieldHelp["filters"], errs["filters"], true)
		w.raw("</fieldset>\n<fieldset><legend>Enrichment</legend>\n")
		input(w, "enrichment", "Enrichment", f.Enrichment, fieldHelp["enrichment"], errs["enrichment"], false)
		input(w, "enrichment_template", "Enrichment input template", f.EnrichmentTemplate, fieldHelp["enrichment_template"], errs["enrichment_template"], true)
		w.raw("</fieldset>\n<fieldset><legend>Target</legend>\n")
		input(w, "target", "Target", f.Target, fieldHelp["target"], errs["target"], false)
		input(w, "target_template", "Target input template", f.TargetTemplate, fieldHelp["target_template"], errs["target_template"], true)
		input(w, "target_params", "Other target parameters (JSON)", f.TargetParams, fieldHelp["target_params"], errs["target_params"], true)
		w.raw("</fieldset>\n<fieldset><legend>Execution log</legend>\n")
		w.f("<div class=\"field\"><label for=\"log_level\">Log level</label><select id=\"log_level\" name=\"log_level\"%s>", describedBy("log_level", errs["log_level"]))
		for _, l := range []string{"OFF", "ERROR", "INFO", "TRACE"} {
			w.f("<option%s>%s</option>", sel(l, f.LogLevel), l)
		}
		w.f("</select><p class=\"help\" id=\"log_level-help\">%s</p>\n", fieldHelp["log_level"])
		fieldErrors(w, "log_level", errs["log_level"])
		// Create comes first: it is the button Enter submits.
		w.raw("</div>\n</fieldset>\n<input type=\"hidden\" name=\"mode\" value=\"form\">\n<div class=\"actions\">" +
			"<button type=\"submit\" id=\"create-submit\">Create the pipe</button>\n" +
			"<button type=\"submit\" name=\"switch\" value=\"json\" id=\"switch-json\">Write it as JSON</button>\n" +
			"<button type=\"submit\" name=\"switch\" value=\"yaml\" id=\"switch-yaml\">Write it as YAML</button></div>\n</form>\n")
	})
}

// createDocView is the create page's document mode: the pipe's name and its CreatePipe body as JSON or
// YAML, with the errors beside the field they name (the name, or the document with the member's path).
func (c *Console) createDocView(s session, name, doc, format string, errs map[string][]string) string {
	return c.layout(s, "create", "Create a pipe", func(w *hw) {
		upper := strings.ToUpper(format)
		w.f("<p>Write the pipe as a CreatePipe request body in %s, the form <code>sluice run</code> reads. "+
			"<a href=\"/console/new\">Use the form instead</a>.</p>\n", upper)
		if g := errs["general"]; len(g) > 0 {
			errs["definition"] = append(errs["definition"], g...)
		}
		w.f("<form method=\"post\" action=\"/console/new\" class=\"form\" id=\"create\" novalidate>%s\n<input type=\"hidden\" name=\"mode\" value=\"%s\">\n",
			c.csrfField(s), format)
		input(w, "name", "Name", name, fieldHelp["name"], errs["name"], false)
		cls := trusted("field")
		if len(errs["definition"]) > 0 {
			cls = "field has-error"
		}
		w.f("<div class=\"%s\">\n<label for=\"definition\">Definition (%s)</label>\n<textarea id=\"definition\" name=\"definition\" rows=\"20\" spellcheck=\"false\"%s>%s</textarea>\n",
			cls, upper, describedBy("definition", errs["definition"]), doc)
		w.f("<p class=\"help\" id=\"definition-help\">Source, SourceParameters (SelfManagedKafkaParameters, FilterCriteria), Enrichment, EnrichmentParameters, " +
			"Target, TargetParameters, LogConfiguration: the members of the Pipes CreatePipe request. Secrets are references, never values. " +
			"An error names the member it is about (the same path in JSON and YAML).</p>\n")
		fieldErrors(w, "definition", errs["definition"])
		other := "yaml"
		if format == "yaml" {
			other = "json"
		}
		w.f("</div>\n<div class=\"actions\"><button type=\"submit\" id=\"create-submit\">Create the pipe</button>\n"+
			"<button type=\"submit\" name=\"switch\" value=\"%s\" id=\"switch-%s\">Show as %s</button></div>\n</form>\n", other, other, strings.ToUpper(other))
	})
}

func (c *Console) playgroundView(s session, pipes []PipeSummary, selected, patterns, tmpl string) string {
	return c.layout(s, "playground", "Filter and template playground", func(w *hw) {
		w.raw("<p>Samples are read from the source topic with a read-only peek: no consumer group, nothing committed. " +
			"Patterns and templates run on the server with the pipes' own engines.</p>\n<form id=\"pg\" class=\"form\">\n<div class=\"field\">\n" +
			"<label for=\"pg-pipe\">Pipe whose source to sample</label>\n<select id=\"pg-pipe\" name=\"pipe\"><option value=\"\">choose a pipe</option>")
		for _, p := range pipes {
			w.f("<option%s>%s</option>", sel(p.Name, selected), p.Name)
		}
		w.raw("</select>\n<details id=\"pg-adhoc\"><summary>or a source without a pipe</summary>\n" +
			"<label for=\"pg-source\">Source (smk://host:port)</label><input id=\"pg-source\" name=\"source\">\n" +
			"<label for=\"pg-topic\">Topic</label><input id=\"pg-topic\" name=\"topic\">\n" +
			"<label for=\"pg-auth\">Credentials</label><select id=\"pg-auth\" name=\"auth\"><option value=\"\">none (PLAINTEXT)</option>")
		for _, a := range authMembers {
			w.f("<option>%s</option>", a)
		}
		w.raw("</select>\n<label for=\"pg-auth-ref\">Secret reference</label><input id=\"pg-auth-ref\" name=\"auth_ref\" " +
			"placeholder=\"arn:aws:secretsmanager:…, file://…, env:…\">\n</details>\n")
		w.raw("<label for=\"pg-count\">Records</label> <input id=\"pg-count\" name=\"count\" type=\"number\" min=\"1\" max=\"50\" value=\"10\">\n" +
			"<button type=\"button\" id=\"pg-fetch\">Fetch samples</button> <span id=\"pg-status\" role=\"status\" aria-live=\"polite\"></span>\n</div>\n<div class=\"two\">\n")
		w.f("<div class=\"field\"><label for=\"pg-patterns\">Filter patterns (one JSON pattern, or one per line)</label>\n"+
			"<textarea id=\"pg-patterns\" rows=\"6\" spellcheck=\"false\" aria-describedby=\"pg-patterns-error\">%s</textarea>\n"+
			"<div id=\"pg-patterns-error\" class=\"field-error\" role=\"alert\"></div></div>\n", patterns)
		w.f("<div class=\"field\"><label for=\"pg-template\">Input template</label>\n"+
			"<textarea id=\"pg-template\" rows=\"6\" spellcheck=\"false\" aria-describedby=\"pg-template-error\">%s</textarea>\n"+
			"<div id=\"pg-template-error\" class=\"field-error\" role=\"alert\"></div></div>\n", tmpl)
		w.raw("</div>\n</form>\n<p id=\"pg-summary\" role=\"status\" aria-live=\"polite\"></p>\n<ol id=\"pg-samples\" class=\"samples\"></ol>\n")
	})
}

// lagRows writes the offsets table's rows: the offsets read from the cluster, or when there are none
// the lag the runtime reports by partition.
func lagRows(w *hw, offs []PartitionOffsets, lag []partitionLag) {
	for _, o := range offs {
		committed, l := "none yet", "unknown"
		if o.Committed >= 0 {
			committed, l = strconv.FormatInt(o.Committed, 10), strconv.FormatInt(o.Lag, 10)
		}
		w.f("<tr><td>%d</td><td class=\"num\">%s</td><td class=\"num\">%d</td><td class=\"num\">%s</td></tr>", o.Partition, committed, o.End, l)
	}
	if len(offs) > 0 {
		return
	}
	for _, l := range lag {
		w.f("<tr><td>%d</td><td class=\"num\">unknown</td><td class=\"num\">unknown</td><td class=\"num\">%d</td></tr>", l.Partition, l.Lag)
	}
	if len(lag) == 0 {
		w.raw("<tr><td colspan=\"4\">No partitions known yet.</td></tr>")
	}
}

// hiddenIf returns the hidden attribute when b.
func hiddenIf(b bool) trusted {
	if b {
		return " hidden"
	}
	return ""
}
