package api

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// fieldError returns the text of the error block beside form field id ("" when there is none).
func fieldError(page, id string) string {
	m := regexp.MustCompile(`(?s)<div class="field-error" id="` + regexp.QuoteMeta(id) + `-error" role="alert">(.*?)</div>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// textarea returns the unescaped content of textarea id.
func textarea(page, id string) string {
	m := regexp.MustCompile(`(?s)<textarea id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestConsoleYAML covers issue 14's "the definition as JSON/YAML with edit": the create page's form
// carries over into a JSON or YAML document, a YAML document creates the pipe, the pipe page edits it
// as YAML, and validation errors show beside the field they name in both forms.
func TestConsoleYAML(t *testing.T) {
	h := newHarness(t, withConsoleOpt(true))
	c := noRedirect()
	_, page := do(t, c, "GET", h.hs.URL+"/", nil, nil)
	token := reCSRF.FindStringSubmatch(page)[1]

	// The form, switched to YAML, keeps what was typed.
	form := url.Values{"csrf": {token}, "mode": {"form"}, "switch": {"yaml"}, "name": {"y1"}, "source": {"smk://127.0.0.1:9092"},
		"topic": {"orders"}, "position": {"TRIM_HORIZON"}, "filters": {`{"value": {"status": ["PAID"]}}`}, "target": {"file:///tmp/sluice-api-test/y1.jsonl"}}
	resp, page := do(t, c, "POST", h.hs.URL+"/console/new", form, nil)
	doc := textarea(page, "definition")
	if resp.StatusCode != http.StatusOK || !strings.Contains(doc, "TopicName: orders") || !strings.Contains(doc, "StartingPosition: TRIM_HORIZON") ||
		!strings.Contains(page, `name="name" value="y1"`) {
		t.Fatalf("switching the form to YAML = %d, want the typed values in a YAML document; document:\n%s", resp.StatusCode, doc)
	}
	// And YAML to JSON.
	resp, page = do(t, c, "POST", h.hs.URL+"/console/new", url.Values{"csrf": {token}, "mode": {"yaml"}, "switch": {"json"},
		"name": {"y1"}, "definition": {doc}}, nil)
	if js := textarea(page, "definition"); resp.StatusCode != http.StatusOK || !strings.Contains(js, `"TopicName": "orders"`) {
		t.Fatalf("YAML to JSON = %d:\n%s", resp.StatusCode, js)
	}

	create := func(name, doc string) (*http.Response, string) {
		return do(t, c, "POST", h.hs.URL+"/console/new", url.Values{"csrf": {token}, "mode": {"yaml"}, "name": {name}, "definition": {doc}}, nil)
	}
	bad := strings.Replace(doc, `'{"value": {"status": ["PAID"]}}'`, `'{"value": {"status": "PAID"}}'`, 1)
	if bad == doc {
		t.Fatalf("the YAML document does not hold the pattern as expected:\n%s", doc)
	}
	resp, page = create("y1", bad)
	if e := fieldError(page, "definition"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e, "SourceParameters.FilterCriteria.Filters[0].Pattern") {
		t.Errorf("an invalid pattern in YAML = %d, want 400 with the error beside the definition naming the pattern: %q", resp.StatusCode, e)
	}
	if got := textarea(page, "definition"); got != bad {
		t.Errorf("the refused document was not kept as typed:\n%s", got)
	}
	resp, page = create("bad name!", doc)
	if e := fieldError(page, "name"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e, "Name") || fieldError(page, "definition") != "" {
		t.Errorf("a bad name = %d, want its error beside the name field only: name %q, definition %q", resp.StatusCode, e, fieldError(page, "definition"))
	}
	resp, page = create("y1", "Source: [unclosed\n")
	if e := fieldError(page, "definition"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e, "not valid YAML") {
		t.Errorf("YAML that does not parse = %d: %q", resp.StatusCode, e)
	}
	resp, _ = create("y1", doc)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/pipes/y1?done=created&format=yaml" {
		t.Fatalf("a valid YAML document = %d Location %q, want 303 to the pipe page in YAML", resp.StatusCode, resp.Header.Get("Location"))
	}
	if d := h.describe("y1"); d.SourceParameters.SelfManagedKafkaParameters.StartingPosition != "TRIM_HORIZON" {
		t.Errorf("stored StartingPosition = %q", d.SourceParameters.SelfManagedKafkaParameters.StartingPosition)
	}

	// The pipe page in YAML: its editor holds the UpdatePipe body as YAML; a YAML edit updates.
	resp, page = do(t, c, "GET", h.hs.URL+"/console/pipes/y1?format=yaml", nil, nil)
	ed := textarea(page, "definition")
	if resp.StatusCode != http.StatusOK || !strings.Contains(ed, "Target: file:///tmp/sluice-api-test/y1.jsonl") || strings.Contains(ed, "{\n") {
		t.Fatalf("the pipe page in YAML = %d, editor:\n%s", resp.StatusCode, ed)
	}
	edit := func(v url.Values) (*http.Response, string) {
		v.Set("csrf", token)
		return do(t, c, "POST", h.hs.URL+"/console/pipes/y1/edit", v, nil)
	}
	resp, page = edit(url.Values{"format": {"yaml"}, "definition": {ed + "Description: edited as YAML\n"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a YAML edit = %d:\n%s", resp.StatusCode, fieldError(page, "definition"))
	}
	if d := h.describe("y1"); d.Description == nil || *d.Description != "edited as YAML" {
		t.Errorf("Description after the YAML edit = %v", d.Description)
	}
	resp, page = edit(url.Values{"format": {"yaml"}, "definition": {"Target: file:///tmp/sluice-api-test/y1.jsonl\nLogConfiguration:\n  Level: LOUD\n"}})
	if e := fieldError(page, "definition"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e, "LogConfiguration.Level") {
		t.Errorf("a refused YAML edit = %d, want the error beside the editor naming LogConfiguration.Level: %q", resp.StatusCode, e)
	}
	resp, page = edit(url.Values{"format": {"yaml"}, "convert": {"json"}, "definition": {ed}})
	if js := textarea(page, "definition"); resp.StatusCode != http.StatusOK || !strings.Contains(js, `"Target": "file:///tmp/sluice-api-test/y1.jsonl"`) {
		t.Errorf("showing the edit as JSON = %d:\n%s", resp.StatusCode, js)
	}
}
