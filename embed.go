// Package coffeechat holds what the repository root ships inside the binary: the
// documented example configuration that `coffeechat init` writes.
package coffeechat

import _ "embed"

// ExampleConfig is config.example.toml: every setting with its default and a
// comment. `coffeechat init` writes it as the user's first config.
//
//go:embed config.example.toml
var ExampleConfig []byte
