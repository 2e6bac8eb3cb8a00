package console

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
)

// The pages are written by Go code rather than html/template: text/template calls methods by name
// through reflection, which makes the linker keep every exported method of every type in the binary
// (some 28 MB with the AWS SDK's types), where the console must add less than 1 MB.
//
// hw writes HTML. Its format verbs take arguments that are escaped for text and quoted attribute
// values (html.EscapeString: & < > ' "), except trusted, which is markup the console wrote itself.
type hw struct{ b strings.Builder }

// trusted is HTML the console built itself; hw.f writes it unescaped.
type trusted string

// f writes format with its arguments escaped (trusted ones as they are).
func (w *hw) f(format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case trusted:
			args[i] = string(v)
		case string:
			args[i] = html.EscapeString(v)
		case fmt.Stringer:
			args[i] = html.EscapeString(v.String())
		case error:
			args[i] = html.EscapeString(v.Error())
		}
	}
	fmt.Fprintf(&w.b, format, args...)
}

// raw writes markup as it is.
func (w *hw) raw(s string) { w.b.WriteString(s) }

func (w *hw) String() string { return w.b.String() }

// pipeURL is the pipe page's path.
func pipeURL(name string) string { return Prefix + "pipes/" + url.PathEscape(name) }

// sel returns the selected attribute when a == b.
func sel(a, b string) trusted {
	if a == b {
		return " selected"
	}
	return ""
}

func num(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

// layout writes the page around body.
func (c *Console) layout(s session, page, title string, body func(w *hw)) string {
	var w hw
	w.raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	if s.id != "" {
		w.f("<meta name=\"csrf-token\" content=\"%s\">\n", c.csrfToken(s))
	}
	w.f("<title>%s · Sluice</title>\n", title)
	w.raw("<link rel=\"stylesheet\" href=\"/console/static/app.css\">\n<script src=\"/console/static/app.js\" defer></script>\n</head>\n")
	w.f("<body data-page=\"%s\">\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n", page)
	w.raw("<header class=\"top\">\n<a class=\"brand\" href=\"/\">Sluice</a>\n<nav aria-label=\"Main\">\n")
	for _, l := range []struct{ page, href, text string }{{"list", "/", "Pipes"}, {"create", Prefix + "new", "Create a pipe"},
		{"playground", Prefix + "playground", "Playground"}} {
		cur := trusted("")
		if l.page == page {
			cur = " aria-current=\"page\""
		}
		w.f("<a href=\"%s\" id=\"nav-%s\"%s>%s</a>\n", l.href, l.page, cur, l.text)
	}
	w.raw("</nav>\n")
	if len(c.o.Keys) > 0 && s.KeyID != "" {
		w.f("<form method=\"post\" action=\"/console/signout\" class=\"signout\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"+
			"<span>Signed in as <code>%s</code></span> <button type=\"submit\">Sign out</button></form>\n", c.csrfToken(s), s.KeyID)
	}
	w.raw("</header>\n<main id=\"main\" tabindex=\"-1\">\n")
	w.f("<h1>%s</h1>\n", title)
	body(&w)
	w.raw("</main>\n</body>\n</html>\n")
	return w.String()
}

// csrfField is the hidden CSRF input of a state-changing form.
func (c *Console) csrfField(s session) trusted {
	return trusted(`<input type="hidden" name="csrf" value="` + html.EscapeString(c.csrfToken(s)) + `">`)
}

// fieldErrors writes the errors of one form field, referenced by aria-describedby.
func fieldErrors(w *hw, id string, errs []string) {
	if len(errs) == 0 {
		return
	}
	w.f("<div class=\"field-error\" id=\"%s-error\" role=\"alert\">", id)
	for _, e := range errs {
		w.f("<p>Error: %s</p>", e)
	}
	w.raw("</div>\n")
}

// describedBy is the aria-describedby attribute of a field with help and maybe errors.
func describedBy(id string, errs []string) trusted {
	v := id + "-help"
	if len(errs) > 0 {
		v += " " + id + "-error"
		return trusted(` aria-describedby="` + html.EscapeString(v) + `" aria-invalid="true"`)
	}
	return trusted(` aria-describedby="` + html.EscapeString(v) + `"`)
}

// input writes a labelled text field (area: a textarea) with its help and errors.
func input(w *hw, id, label, value, help string, errs []string, area bool) {
	cls := trusted("field")
	if len(errs) > 0 {
		cls = "field has-error"
	}
	w.f("<div class=\"%s\">\n<label for=\"%s\">%s</label>\n", cls, id, label)
	if area {
		w.f("<textarea id=\"%s\" name=\"%s\" rows=\"4\" spellcheck=\"false\"%s>%s</textarea>\n", id, id, describedBy(id, errs), value)
	} else {
		w.f("<input id=\"%s\" name=\"%s\" value=\"%s\"%s>\n", id, id, value, describedBy(id, errs))
	}
	w.f("<p class=\"help\" id=\"%s-help\">%s</p>\n", id, help)
	fieldErrors(w, id, errs)
	w.raw("</div>\n")
}

// jsonAttr is v as JSON, for a data- attribute (escaped by hw.f).
func jsonAttr(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
