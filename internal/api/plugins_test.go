package api

// The plugins sluice is built with (cmd/sluice/plugins.go), in plugin.Default for the tests: the API
// validates definitions with the registry it is given, and internal/pipe knows no target kind itself.
import (
	_ "github.com/sluicehq/sluice/internal/enrich/http"
	_ "github.com/sluicehq/sluice/internal/target/file"
	_ "github.com/sluicehq/sluice/internal/target/http"
	_ "github.com/sluicehq/sluice/internal/target/kafka"
)
