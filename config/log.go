package config

import (
	"io"
	"log/slog"
	"strings"
)

// SlogLevel is log.level as a slog.Level.
func (l Log) SlogLevel() (slog.Level, error) {
	switch strings.ToLower(l.Level) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, invalid("log.level", l.Level, "must be debug, info, warn or error")
}

// NewLogger builds the logger log.level and log.format ask for, writing to w.
func NewLogger(w io.Writer, l Log) (*slog.Logger, error) {
	level, err := l.SlogLevel()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, invalid("log.format", l.Format, "must be text or json")
}
