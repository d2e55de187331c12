// Package inbox is everything coffeechat does over IMAP: it watches the mailbox
// (IDLE, with polling as the fallback), fetches headers first and whole messages
// only for candidates, keeps the Sent folder, and reads a raw message: auto-reply,
// bounce, calendar reply, introduction or human reply, with the new text, the
// intent and a definite meeting time when there is one.
package inbox
