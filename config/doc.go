// Package config reads, defaults and validates coffeechat's TOML configuration,
// resolves its XDG paths, and fetches secrets through password_cmd,
// password_env or token_cmd.
package config
