// Package mailer composes RFC 5322 messages with go-mail and delivers them over
// SMTP. It knows nothing of asks or the database: the daemon decides what to send
// and records the outcome; mailer reports each delivery's fate (sent, temporary,
// permanent or uncertain).
package mailer
