// Package e2e runs coffeechat's whole story end to end: the daemon as a
// subprocess (the binary built once in TestMain), real Postfix and Dovecot
// (scripts/mailrig), and simulated people sending and reading real mail.
package e2e
