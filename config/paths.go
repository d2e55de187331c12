package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AppName is the directory name under the XDG base directories.
const AppName = "coffeechat"

// DefaultPath is $XDG_CONFIG_HOME/coffeechat/config.toml (~/.config/... when
// unset), from the process environment.
func DefaultPath() (string, error) { return Env(OSEnv).DefaultPath() }

// ConfigDir is $XDG_CONFIG_HOME/coffeechat, from the process environment.
func ConfigDir() (string, error) { return Env(OSEnv).ConfigDir() }

// TemplatesDir is $XDG_CONFIG_HOME/coffeechat/templates, from the process environment.
func TemplatesDir() (string, error) { return Env(OSEnv).TemplatesDir() }

// DataDir is $XDG_DATA_HOME/coffeechat (~/.local/share/... when unset), from the
// process environment.
func DataDir() (string, error) { return Env(OSEnv).DataDir() }

// DefaultPath is ConfigDir/config.toml.
func (e Env) DefaultPath() (string, error) {
	d, err := e.ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "config.toml"), nil
}

// ConfigDir is $XDG_CONFIG_HOME/coffeechat, or ~/.config/coffeechat.
func (e Env) ConfigDir() (string, error) { return e.xdg("XDG_CONFIG_HOME", ".config") }

// TemplatesDir is ConfigDir/templates.
func (e Env) TemplatesDir() (string, error) {
	d, err := e.ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "templates"), nil
}

// DataDir is $XDG_DATA_HOME/coffeechat, or ~/.local/share/coffeechat.
func (e Env) DataDir() (string, error) {
	return e.xdg("XDG_DATA_HOME", filepath.Join(".local", "share"))
}

// xdg follows the XDG base directory spec: a relative value is ignored.
func (e Env) xdg(name, fallback string) (string, error) {
	if v := e.get(name); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, AppName), nil
	}
	home, err := e.home()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	return filepath.Join(home, fallback, AppName), nil
}

func (e Env) home() (string, error) {
	if h := e.get("HOME"); h != "" {
		return h, nil
	}
	return "", errors.New("HOME is not set")
}

// expandHome turns a leading "~/" into the home directory.
func (e Env) expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := e.home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// DBPath is store.path (a leading ~/ expanded), or DataDir/coffeechat.db.
func (c *Config) DBPath() (string, error) {
	if c.Store.Path != "" {
		p, err := c.env.expandHome(c.Store.Path)
		if err != nil {
			return "", fmt.Errorf("store.path: %w", err)
		}
		return p, nil
	}
	d, err := c.env.DataDir()
	if err != nil {
		return "", fmt.Errorf("store.path: %w", err)
	}
	return filepath.Join(d, "coffeechat.db"), nil
}

// ICSDir is calendar.ics_dir (a leading ~/ expanded), or DataDir/calendar.
func (c *Config) ICSDir() (string, error) {
	var d string
	var err error
	if c.Calendar.ICSDir != "" {
		d, err = c.env.expandHome(c.Calendar.ICSDir)
	} else if d, err = c.env.DataDir(); err == nil {
		d = filepath.Join(d, "calendar")
	}
	if err != nil {
		return "", fmt.Errorf("calendar.ics_dir: %w", err)
	}
	return d, nil
}

// SystemTimezone names the system's time zone: $TZ, else the target of
// /etc/localtime, else /etc/timezone, else "UTC".
func SystemTimezone(env Env) string {
	if tz := strings.TrimPrefix(env.get("TZ"), ":"); tz != "" {
		if i := strings.LastIndex(tz, "zoneinfo/"); i >= 0 {
			tz = tz[i+len("zoneinfo/"):]
		}
		if _, err := time.LoadLocation(tz); err == nil && tz != "Local" {
			return tz
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if i := strings.LastIndex(target, "zoneinfo/"); i >= 0 {
			tz := target[i+len("zoneinfo/"):]
			if _, err := time.LoadLocation(tz); err == nil {
				return tz
			}
		}
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		tz := strings.TrimSpace(string(b))
		if _, err := time.LoadLocation(tz); err == nil && tz != "" && tz != "Local" {
			return tz
		}
	}
	return "UTC"
}
