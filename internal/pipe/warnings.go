package pipe

import "github.com/sluicehq/sluice/transform"

// Warnings lists what is valid but probably not meant, by field, in the same form as Validate's problems:
// today an input template that starts like JSON ('{' or '[') but cannot render to JSON, with the line and
// column of the first problem. Pipes accepts any text as a template, so these never reject a definition;
// `sluice run`, `sluice test-input-template` and the API's log show them. Any definition may be checked:
// templates that do not parse are Validate's to report, not a warning.
func (d *Definition) Warnings() FieldErrors {
	var w FieldErrors
	if ep := d.EnrichmentParameters; ep != nil && ep.InputTemplate != nil {
		lintTemplate(&w, "EnrichmentParameters.InputTemplate", *ep.InputTemplate)
	}
	if tp := d.TargetParameters; tp != nil && tp.InputTemplate != nil {
		lintTemplate(&w, "TargetParameters.InputTemplate", *tp.InputTemplate)
	}
	return w
}

func lintTemplate(w *FieldErrors, field, tmpl string) {
	t, err := transform.Parse(tmpl)
	if err != nil {
		return // an error, which Validate reports
	}
	if err := t.Lint(); err != nil {
		w.add(field, "%v", err)
	}
}
