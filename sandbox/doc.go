// Package sandbox runs mail servers in-process for tests and the demo: a go-smtp
// server that records what it receives and can be told to fail, an imapmemserver
// with a mailbox per person, and a TCP proxy that can stall; it also finds the
// real Dovecot/Postfix rig started by scripts/mailrig.
package sandbox
