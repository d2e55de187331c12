package inbox

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// sentNames are the usual Sent folder names, tried in order when the server
// does not mark the folder with SPECIAL-USE \Sent.
var sentNames = []string{"Sent", "Sent Items", "[Gmail]/Sent Mail", "Sent Messages", "INBOX.Sent", "INBOX/Sent"}

// SentFolder returns the folder to file sent mail in: the configured name when
// there is one; else the folder LIST marks \Sent (RETURN (SPECIAL-USE), when
// the server has SPECIAL-USE or LIST-EXTENDED); else the first existing one of
// the usual names (Sent, Sent Items, [Gmail]/Sent Mail, Sent Messages,
// INBOX.Sent).
func (c *Conn) SentFolder(ctx context.Context, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if c.caps.Has(imap.CapSpecialUse) || c.caps.Has(imap.CapListExtended) {
		var found string
		err := c.guard(ctx, "LIST RETURN (SPECIAL-USE)", func(alive func()) error {
			cmd := c.client.List("", "*", &imap.ListOptions{ReturnSpecialUse: true})
			for {
				d := cmd.Next()
				if d == nil {
					break
				}
				alive()
				for _, a := range d.Attrs {
					if strings.EqualFold(string(a), string(imap.MailboxAttrSent)) && found == "" {
						found = d.Mailbox
					}
				}
			}
			return cmd.Close()
		})
		if err != nil {
			return "", err
		}
		if found != "" {
			return found, nil
		}
	}
	var names []string
	err := c.guard(ctx, "LIST", func(alive func()) error {
		cmd := c.client.List("", "*", nil)
		for {
			d := cmd.Next()
			if d == nil {
				break
			}
			alive()
			if !hasAttr(d.Attrs, imap.MailboxAttrNoSelect) && !hasAttr(d.Attrs, imap.MailboxAttrNonExistent) {
				names = append(names, d.Mailbox)
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return "", err
	}
	for _, want := range sentNames {
		for _, n := range names {
			if strings.EqualFold(n, want) {
				return n, nil
			}
		}
	}
	return "", fmt.Errorf("%s: no Sent folder: none is marked \\Sent and none of %s exists (set imap.sent_folder)", c.account, strings.Join(sentNames, ", "))
}

func hasAttr(attrs []imap.MailboxAttr, want imap.MailboxAttr) bool {
	for _, a := range attrs {
		if strings.EqualFold(string(a), string(want)) {
			return true
		}
	}
	return false
}

// AppendSent files raw in folder, flagged \Seen, with date as its internal
// date (the send time; zero: the server's clock).
func (c *Conn) AppendSent(ctx context.Context, folder string, raw []byte, date time.Time) error {
	return c.guard(ctx, "APPEND "+folder, func(alive func()) error {
		cmd := c.client.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: date})
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	})
}

// HasMessageID tells whether folder holds a message with this Message-ID
// (with or without angle brackets): UID SEARCH HEADER Message-ID on the
// folder opened read-only (EXAMINE), each hit then checked exactly.
func (c *Conn) HasMessageID(ctx context.Context, folder, messageID string) (bool, error) {
	id := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(messageID), "<"), ">"))
	if id == "" {
		return false, fmt.Errorf("%s: look for an empty Message-ID in %s", c.account, folder)
	}
	if _, err := c.examine(ctx, folder); err != nil {
		return false, err
	}
	uids, err := c.uidSearch(ctx, &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}})
	if err != nil {
		return false, err
	}
	if len(uids) == 0 {
		return false, nil
	}
	// SEARCH HEADER matches substrings: compare the ids themselves.
	hs, err := c.fetchHeaders(ctx, imap.UIDSetNum(uids...))
	if err != nil {
		return false, err
	}
	for _, h := range hs {
		if strings.EqualFold(h.MessageID, id) || bytes.Contains(bytes.ToLower(h.Raw), []byte("<"+strings.ToLower(id)+">")) {
			return true, nil
		}
	}
	return false, nil
}

// FilesSentItself reports whether the provider files a copy of what its SMTP
// server sends into Sent by itself, so coffeechat must not append another:
// Gmail (X-GM-EXT-1, or a gmail/googlemail host), Outlook / Office 365
// (outlook.office365.com, *.outlook.com) and iCloud (imap.mail.me.com).
func FilesSentItself(host string, caps imap.CapSet) bool {
	if caps != nil && caps.Has(imap.Cap("X-GM-EXT-1")) {
		return true
	}
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	switch {
	case strings.Contains(h, "gmail") || strings.Contains(h, "googlemail"):
		return true
	case h == "outlook.office365.com" || h == "outlook.com" || strings.HasSuffix(h, ".outlook.com"):
		return true
	case h == "imap.mail.me.com" || h == "mail.me.com":
		return true
	}
	return false
}
