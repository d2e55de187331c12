package inbox

import (
	"bytes"
	"net/mail"
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
)

var (
	daemonFromRe   = regexp.MustCompile(`(?i)^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounce|bounces|mdaemon)@|^microsoftexchange[0-9a-f]*@`)
	daemonNameRe   = regexp.MustCompile(`(?i)mail delivery (subsystem|system|service)|mailer.daemon|postmaster|microsoft outlook|delivery status notification`)
	bounceSubjRe   = regexp.MustCompile(`(?i)^\s*(undeliverable|undelivered mail|undelivered message|mail delivery failed|delivery status notification|delivery failure|delivery has failed|failure notice|returned mail|mail system error|non remis|unzustellbar|nicht zustellbar|non recapitabile|no se puede entregar|onbestelbaar|could not send message|message not delivered|delivery notification|warning: (message|delayed)|delayed mail|mail delivery delayed|undelivered)`)
	delaySubjRe    = regexp.MustCompile(`(?i)\(delay\)|delayed|warning:|verzögert|retardé|retrasado`)
	delayTextRe    = regexp.MustCompile(`(?i)(has not (yet )?been delivered|delivery (has been|is) delayed|will (keep|continue to) (try|retry)|is delayed|still trying|temporary (failure|problem)|will retry|message is delayed|not been delivered yet)`)
	failTextRe     = regexp.MustCompile(`(?i)(address not found|wasn't delivered|was not delivered|couldn't be delivered|could not be delivered|delivery has failed|permanent(ly)? (error|fatal|failure)|user unknown|does not exist|doesn't exist|no such user|mailbox unavailable|undeliverable|rejected|recipient address rejected|returned to sender|delivery failed|failed recipients|could not be found|gave up|giving up|unrouteable|not found)`)
	statusCodeRe   = regexp.MustCompile(`\b([245]\.\d{1,3}\.\d{1,3})\b`)
	quotedIDRe     = regexp.MustCompile(`(?im)^[ \t>]*message-id:[ \t]*(?:\r?\n[ \t]+)?<([^<>\s]+)>`)
	quotedSubjRe   = regexp.MustCompile(`(?im)^[ \t>]*subject:[ \t]*(.+)$`)
	diagnosticLine = regexp.MustCompile(`(?m)^.*\b[45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b.*$|^.*\b[45]\d\d\b.*(user|mailbox|recipient|address|rejected|unknown|exist).*$`)
)

// detectBounce reads a delivery status notification: an RFC 3464 report
// (delivery-status or global-delivery-status), or a prose bounce from a mail
// system that sends none, with the original Message-ID from the returned
// message or its quoted headers. It returns nil for anything else.
func detectBounce(h textproto.Header, m *Message, p *mimeParts) *Bounce {
	var b *Bounce
	switch {
	case p.deliveryStatus != nil:
		b = parseDeliveryStatus(p.deliveryStatus)
	case looksLikeProseBounce(h, m, p):
		b = proseBounce(h, m)
	default:
		return nil
	}
	if p.returned != nil {
		b.OriginalMessageID = firstID(p.returned.Get("Message-Id"))
		b.OriginalSubject = decodeHeader(p.returned.Get("Subject"))
	}
	if b.OriginalMessageID == "" {
		if sm := quotedIDRe.FindStringSubmatch(m.Text); sm != nil && sm[1] != m.MessageID {
			b.OriginalMessageID = sm[1]
		}
	}
	if b.OriginalMessageID == "" {
		b.OriginalMessageID = m.InReplyTo
		if b.OriginalMessageID == "" && len(m.References) > 0 {
			b.OriginalMessageID = m.References[len(m.References)-1]
		}
	}
	if b.OriginalSubject == "" {
		if sm := quotedSubjRe.FindStringSubmatch(m.Text); sm != nil {
			b.OriginalSubject = strings.TrimSpace(sm[1])
		}
	}
	return b
}

// parseDeliveryStatus reads the per-recipient blocks of a message/delivery-status part.
func parseDeliveryStatus(ds []byte) *Bounce {
	b := &Bounce{}
	ds = bytes.ReplaceAll(ds, []byte("\r\n"), []byte("\n"))
	blocks := bytes.Split(ds, []byte("\n\n"))
	for i, block := range blocks {
		if len(bytes.TrimSpace(block)) == 0 {
			continue
		}
		fh, err := parseHeaderBlock(block)
		if err != nil {
			continue
		}
		if i == 0 && !fh.Has("Final-Recipient") && !fh.Has("Original-Recipient") && !fh.Has("Action") {
			continue // the per-message fields
		}
		r := BounceRecipient{
			Address:    dsnAddress(fh.Get("Final-Recipient")),
			Action:     strings.ToLower(strings.TrimSpace(fh.Get("Action"))),
			Status:     strings.TrimSpace(fh.Get("Status")),
			Diagnostic: dsnValue(fh.Get("Diagnostic-Code")),
		}
		if r.Address == "" {
			r.Address = dsnAddress(fh.Get("Original-Recipient"))
		}
		if r.Address == "" && r.Action == "" {
			continue
		}
		if i := strings.IndexAny(r.Status, " \t("); i > 0 {
			r.Status = r.Status[:i]
		}
		b.Recipients = append(b.Recipients, r)
	}
	b.Delayed = len(b.Recipients) > 0
	for _, r := range b.Recipients {
		if r.Action == "failed" || r.Action == "" && strings.HasPrefix(r.Status, "5") {
			b.Delayed = false
		}
	}
	return b
}

// dsnValue drops the type of a typed DSN field ("smtp; 550 ..." → "550 ...").
func dsnValue(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if t, rest, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(t, " @") {
		return strings.TrimSpace(rest)
	}
	return v
}

func dsnAddress(v string) string {
	v = strings.Trim(dsnValue(v), "<> ")
	if a, err := mail.ParseAddress(v); err == nil {
		return a.Address
	}
	return v
}

// looksLikeProseBounce tells a bounce without a delivery-status part: it comes
// from a mailer daemon (or a bounce subject with an empty Return-Path).
func looksLikeProseBounce(h textproto.Header, m *Message, p *mimeParts) bool {
	fromDaemon := daemonFromRe.MatchString(m.From.Address) || daemonNameRe.MatchString(m.From.Name) && bounceSubjRe.MatchString(m.Subject)
	emptyRP := strings.TrimSpace(h.Get("Return-Path")) == "<>"
	subj := bounceSubjRe.MatchString(m.Subject)
	if p.reportType == "delivery-status" {
		return true
	}
	return fromDaemon && (subj || failTextRe.MatchString(m.Text) || delayTextRe.MatchString(m.Text)) || subj && emptyRP
}

// proseBounce reads recipients and the status from the text of a bounce.
func proseBounce(h textproto.Header, m *Message) *Bounce {
	b := &Bounce{}
	text := m.Text
	// the part before the returned headers is the explanation
	if loc := quotedIDRe.FindStringIndex(text); loc != nil {
		if i := strings.LastIndex(text[:loc[0]], "\n\n"); i > 0 {
			text = text[:i]
		}
	}
	delayed := delaySubjRe.MatchString(m.Subject) && !strings.Contains(strings.ToLower(m.Subject), "failure") || delayTextRe.MatchString(text) && !failTextRe.MatchString(text)
	action := "failed"
	if delayed {
		action = "delayed"
	}
	status := ""
	if sm := statusCodeRe.FindStringSubmatch(text); sm != nil {
		status = sm[1]
	}
	diag := strings.TrimSpace(diagnosticLine.FindString(text))
	skip := map[string]bool{strings.ToLower(m.From.Address): true}
	for _, a := range m.To {
		skip[strings.ToLower(a.Address)] = true
	}
	seen := map[string]bool{}
	for _, sm := range bareAddrRe.FindAllStringSubmatch(text, -1) {
		addr := strings.ToLower(sm[1])
		if skip[addr] || seen[addr] || daemonFromRe.MatchString(addr) {
			continue
		}
		seen[addr] = true
		b.Recipients = append(b.Recipients, BounceRecipient{Address: sm[1], Action: action, Status: status, Diagnostic: diag})
	}
	if len(b.Recipients) == 0 {
		b.Recipients = append(b.Recipients, BounceRecipient{Action: action, Status: status, Diagnostic: diag})
	}
	b.Delayed = delayed
	return b
}
