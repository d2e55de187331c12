package inbox

import (
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// autoSubjectRe matches the subjects of automatic replies in the usual languages.
var autoSubjectRe = regexp.MustCompile(`(?i)^\s*(\[?auto(matic|matische|matisch|matique)?[ -]?(reply|response|antwort|antwoord)\]?|autoreply|autoresponse|auto:|out of (the )?office|ooo\b|abwesenheitsnotiz|abwesend|automatische antwort|réponse automatique|absence|absent\b|respuesta automática|respuesta automatica|fuera de la oficina|fuera de oficina|risposta automatica|fuori ufficio|automatisch antwoord|afwezig|resposta automática|ausente|autosvar|automaattinen vastaus|automatyczna odpowiedź|автоматический ответ|自动回复|自動応答|自動返信|不在)`)

// autoReplyReason says why a message is an automatic reply, or "" when it is
// not (RFC 3834 Auto-Submitted, X-Autoreply, X-Autorespond, Precedence,
// an empty Return-Path, Exchange's rule-loop headers, or the subject).
// Bounces carry some of these too: they are told apart before.
func autoReplyReason(h textproto.Header, subject string) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoresponder"} {
		if v := strings.ToLower(strings.TrimSpace(h.Get(k))); v != "" && v != "no" && v != "false" {
			return k
		}
	}
	listy := h.Has("List-Id") || h.Has("List-Unsubscribe")
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "auto_reply", "auto-reply":
		return "Precedence: " + p
	case "bulk", "junk":
		if !listy {
			return "Precedence: " + p
		}
	}
	if h.Has("X-Auto-Response-Suppress") && h.Has("X-Ms-Exchange-Inbox-Rules-Loop") {
		return "X-MS-Exchange-Inbox-Rules-Loop"
	}
	if autoSubjectRe.MatchString(subject) {
		return "subject: " + subject
	}
	if rp := h.Values("Return-Path"); len(rp) > 0 && !listy {
		if v := strings.TrimSpace(rp[0]); v == "<>" || v == "" || v == "< >" {
			return "empty Return-Path"
		}
	}
	return ""
}

// isList tells mailing-list, newsletter and bulk mail.
func isList(h textproto.Header) bool {
	if h.Has("List-Id") || h.Has("List-Unsubscribe") || h.Has("List-Post") || h.Has("X-Mailing-List") {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "list", "bulk", "junk":
		return true
	}
	return false
}
