package config

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is the dial and command timeout when a server's timeout is empty.
const DefaultTimeout = 30 * time.Second

// key names a setting of this server for error messages: "smtp.password_cmd".
func (s Server) key(name string) string {
	sec := s.section
	if sec == "" {
		sec = "server"
	}
	return sec + "." + name
}

// Section is the name of the table this server came from: "smtp" or "imap".
func (s Server) Section() string { return s.section }

// Secret returns the password or token to log in with. With auth = "xoauth2" it
// runs token_cmd; otherwise the first of password_cmd, password_env and the literal
// password that is set. A command runs through /bin/sh -c, bounded by ctx; its
// first line of output, trimmed of surrounding space, is the secret. Errors name
// the key they come from, e.g. "smtp.password_cmd: exit status 1: ...".
func (s Server) Secret(ctx context.Context) (string, error) {
	if s.Auth == AuthXOAuth2 {
		if strings.TrimSpace(s.TokenCmd) == "" {
			return "", fmt.Errorf("%s: required when %s = %q", s.key("token_cmd"), s.key("auth"), AuthXOAuth2)
		}
		return runSecret(ctx, s.key("token_cmd"), s.TokenCmd)
	}
	switch {
	case strings.TrimSpace(s.PasswordCmd) != "":
		return runSecret(ctx, s.key("password_cmd"), s.PasswordCmd)
	case s.PasswordEnv != "":
		v := s.env.get(s.PasswordEnv)
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is empty or unset", s.key("password_env"), s.PasswordEnv)
		}
		return v, nil
	case s.Password != "":
		return s.Password, nil
	}
	return "", fmt.Errorf("%s: no password_cmd, password_env or password set", s.section)
}

// RunSecretCommand runs a secret command such as calendar.caldav_password_cmd the
// same way Secret runs password_cmd; key names it in errors.
func RunSecretCommand(ctx context.Context, key, command string) (string, error) {
	return runSecret(ctx, key, command)
}

func runSecret(ctx context.Context, key, command string) (string, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	killGroup(cmd)
	cmd.WaitDelay = 2 * time.Second // a grandchild holding the pipes open must not hang us
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		if msg != "" {
			return "", fmt.Errorf("%s: %w: %s", key, err, msg)
		}
		return "", fmt.Errorf("%s: %w", key, err)
	}
	out := stdout.String()
	if i := strings.IndexByte(out, '\n'); i >= 0 {
		out = out[:i]
	}
	out = strings.TrimSpace(out)
	if out == "" {
		return "", fmt.Errorf("%s: command printed nothing", key)
	}
	return out, nil
}

// TLSConfig is the TLS configuration to reach this server: ServerName is the host,
// the roots are the system pool plus the certificates of ca_file, TLS 1.2 at least.
func (s Server) TLSConfig() (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.key("ca_file"), err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", s.key("ca_file"), s.CAFile)
		}
	}
	return &tls.Config{
		ServerName: s.Host,
		RootCAs:    pool,
		MinVersion: tls.VersionTLS12,
	}, nil
}

// Addr is host:port.
func (s Server) Addr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// DialTimeout is the parsed timeout, DefaultTimeout when empty or unparsable
// (Validate rejects the latter).
func (s Server) DialTimeout() time.Duration {
	if s.Timeout == "" {
		return DefaultTimeout
	}
	d, err := ParseDuration(s.Timeout)
	if err != nil || d <= 0 {
		return DefaultTimeout
	}
	return d
}

// Env looks up an environment variable; OSEnv reads the process environment.
// Functions take an Env so tests need not change the process environment.
type Env func(string) string

// OSEnv is the process environment.
func OSEnv(key string) string { return os.Getenv(key) }

func (e Env) get(key string) string {
	if e == nil {
		return os.Getenv(key)
	}
	return e(key)
}

// WithEnv returns s reading password_env from env instead of the process
// environment (for tests and embedding).
func (s Server) WithEnv(env Env) Server {
	s.env = env
	return s
}

// CalDAVSecret is the CalDAV password: caldav_password_cmd run like password_cmd,
// else the variable named by caldav_password_env. Errors name the key.
func (c Calendar) CalDAVSecret(ctx context.Context) (string, error) {
	switch {
	case strings.TrimSpace(c.CalDAVPasswordCmd) != "":
		return runSecret(ctx, "calendar.caldav_password_cmd", c.CalDAVPasswordCmd)
	case c.CalDAVPasswordEnv != "":
		if v := c.env.get(c.CalDAVPasswordEnv); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("calendar.caldav_password_env: environment variable %s is empty or unset", c.CalDAVPasswordEnv)
	}
	return "", fmt.Errorf("calendar: no caldav_password_cmd or caldav_password_env set")
}
