package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Definitions can be written as JSON or YAML, as `sluice run` and pipe.Decode read them: the console
// converts YAML to JSON before handing a body to the Backend (the API's bodies are JSON), and shows a
// definition in either form on request. Field paths in validation errors are the same in both forms.

// docFormat returns "yaml" for "yaml" (any case) and "json" otherwise.
func docFormat(s string) string {
	if strings.EqualFold(s, "yaml") {
		return "yaml"
	}
	return "json"
}

// toJSON returns the JSON of a document written in format.
func toJSON(doc, format string) ([]byte, error) {
	if docFormat(format) == "json" {
		return []byte(doc), nil
	}
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("the definition is not valid YAML: %w", err)
	}
	return js, nil
}

// convertDoc rewrites a document from one format to the other (members sorted by name in YAML).
func convertDoc(doc, from, to string) (string, error) {
	if strings.TrimSpace(doc) == "" {
		return "", nil
	}
	js, err := toJSON(doc, from)
	if err != nil {
		return "", err
	}
	if !json.Valid(js) {
		var v any
		err := json.Unmarshal(js, &v)
		return "", fmt.Errorf("the definition is not valid JSON: %w", err)
	}
	return formatJSON(js, to)
}

// formatJSON writes valid JSON js as indented JSON or as YAML.
func formatJSON(js []byte, format string) (string, error) {
	if docFormat(format) == "yaml" {
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return "", fmt.Errorf("writing the definition as YAML: %w", err)
		}
		return string(y), nil
	}
	var b bytes.Buffer
	if err := json.Indent(&b, js, "", "  "); err != nil {
		return "", fmt.Errorf("indenting the definition: %w", err)
	}
	b.WriteString("\n")
	return b.String(), nil
}
