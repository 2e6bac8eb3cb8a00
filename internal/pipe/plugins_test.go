package pipe

import (
	"github.com/sluicehq/sluice/internal/plugin"

	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/target/file"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
	kafkatarget "github.com/sluicehq/sluice/internal/target/kafka"
)

// builtin returns a registry of the plugins Sluice is built with (file, http(s), kafka targets and the
// http(s) enrichment), the one the fixtures are validated with: internal/pipe knows no target kind, so
// what a Target string or a plugin's member may hold is what these plugins' Validate say.
func builtin() *plugin.Registry {
	reg := plugin.NewRegistry()
	reg.AddTarget(file.Spec(nil, nil))
	reg.AddTarget(httptarget.Spec)
	reg.AddTarget(kafkatarget.Spec)
	reg.AddEnricher(httpenrich.Spec)
	return reg
}
