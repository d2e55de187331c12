package config

import "testing"

// TestIsLoopback: the one test of "this machine" that validation, the
// mailer and the inbox share (they disagreed on *.localhost and [::1]).
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "localhost": true, "LocalHost": true, "mail.localhost": true,
		"::1": true, "[::1]": true, "127.0.0.2": true, "10.0.0.1": false, "imap.example.com": false, "localhost.example.com": false, "": false} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
