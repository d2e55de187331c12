package inbox

import (
	"net/mail"
	"regexp"
	"strings"
)

// StripQuotes returns only what the sender wrote now: the text before a quote
// header (Gmail's "On ... wrote:" even wrapped over several lines, Outlook's
// From:/Sent: block, "-----Original Message-----", forwarded blocks, and their
// German, French, Spanish, Dutch, Italian and Portuguese forms), without "> "
// lines, and without the signature ("-- ", "Sent from my iPhone", a sign-off
// followed by a short block). When nothing stands before the quote (bottom
// posting), the unquoted text after the quote is the new text.
func StripQuotes(text string) string {
	return stripQuotes(text, "")
}

// stripQuotes is StripQuotes that also cuts a signature block starting with
// the sender's name (full or first) on a line of its own.
func stripQuotes(text, sender string) string {
	if len(text) > maxQuoteScan {
		text = text[:maxQuoteScan]
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	start, hdrEnd, kind := findQuoteHeader(lines)
	var out []string
	if start >= 0 {
		out = unquoted(lines[:start])
		if isBlank(out) && kind == quoteAttribution {
			// bottom posting: the attribution, a "> " block, then the new text
			out = unquoted(lines[hdrEnd:])
			if s, _, _ := findQuoteHeader(out); s >= 0 {
				out = out[:s]
			}
		}
	} else {
		out = unquoted(lines)
	}
	out = cutSignature(out)
	out = cutNameBlock(out, sender)
	return tidy(out)
}

// maxQuoteScan bounds the text StripQuotes reads: replies are far shorter.
const maxQuoteScan = 256 << 10

type quoteKind int

const (
	quoteNone quoteKind = iota
	quoteAttribution
	quoteBlock // a header block or separator: what follows is not marked with ">"
)

var (
	separatorRe = regexp.MustCompile(`(?i)^\s*[-=_*]{2,}\s*(original message|original message follows|forwarded message|message d'origine|message transféré|ursprüngliche nachricht|weitergeleitete nachricht|mensaje original|mensaje reenviado|oorspronkelijk bericht|doorgestuurd bericht|messaggio originale|messaggio inoltrato|mensagem original|mensagem encaminhada|original meddelelse|ursprungligt meddelande|原始邮件|元のメッセージ)\s*[-=_*]{0,}\s*$`)
	beginFwdRe  = regexp.MustCompile(`(?i)^\s*(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado)\s*:\s*$`)
	underRe     = regexp.MustCompile(`^\s*_{10,}\s*$`)
	fromHdrRe   = regexp.MustCompile(`(?i)^\s*\*?(from|von|de|van|da|från|fra|od|от|发件人|差出人)\s*:\*?\s*\S`)
	sentHdrRe   = regexp.MustCompile(`(?i)^\s*\*?(sent|date|gesendet|datum|envoyé|date d'envoi|enviado|fecha|verzonden|datum|inviato|data|skickat|sendt|отправлено|发送时间|送信日時|to|an|à|para|aan|a|till|til|кому|收件人|宛先|subject|betreff|objet|asunto|onderwerp|oggetto|assunto|ämne|emne|тема|主题|件名)\s*:`)
	attrStartRe = regexp.MustCompile(`(?i)^\s*(on|am|le|el|op|il|em|den|på|w dniu|dne)\s.{3,}`)
	attrEndRe   = regexp.MustCompile(`(?i)(wrote|writes|schrieb|a écrit|escribió|escribio|schreef|ha scritto|scrisse|escreveu|skrev|kirjoitti|napisał|napsal|написал|написала)\s*:\s*$`)
	attrAddrRe  = regexp.MustCompile(`\d.*<\s*[^<>\s]+@[^<>\s]+\s*>\s*:\s*$`)
	attrVerbRe  = regexp.MustCompile(`(?i)(\s|^)(wrote|schrieb|a écrit|escribió|escribio|schreef|ha scritto|scrisse|escreveu|skrev|kirjoitti|napisał|napsal|написал|написала)(\s|:|$)`)
	attrCJKRe   = regexp.MustCompile(`(写道|のメール|wrote)\s*[:：]\s*$`)
)

// findQuoteHeader finds the first line that starts quoted material: its index,
// the index after the header lines, and its kind; -1 when there is none.
func findQuoteHeader(lines []string) (int, int, quoteKind) {
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, ">") {
			continue
		}
		if separatorRe.MatchString(l) || beginFwdRe.MatchString(l) {
			return i, i + 1, quoteBlock
		}
		if underRe.MatchString(l) && outlookBlockAt(lines, i+1) {
			return i, i + 1, quoteBlock
		}
		if fromHdrRe.MatchString(l) && outlookBlockAt(lines, i) {
			return i, i + 1, quoteBlock
		}
		if end, ok := attributionAt(lines, i); ok {
			return i, end, quoteAttribution
		}
	}
	return -1, -1, quoteNone
}

// outlookBlockAt tells whether a From: line at i (after blank lines) is
// followed by at least one more header line (Sent:, To:, Subject:...) within four lines.
func outlookBlockAt(lines []string, i int) bool {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i >= len(lines) || !fromHdrRe.MatchString(lines[i]) {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+4; j++ {
		if sentHdrRe.MatchString(lines[j]) {
			return true
		}
	}
	return false
}

// attributionAt reads an "On <date>, <name> wrote:" line, possibly wrapped
// over up to four lines, at i; it returns the index after it.
func attributionAt(lines []string, i int) (int, bool) {
	l := strings.TrimSpace(lines[i])
	if endsWithColon(l) && len(l) < 300 {
		if attrCJKRe.MatchString(l) && strings.ContainsAny(l, "0123456789@") || attrAddrRe.MatchString(l) || attrEndRe.MatchString(l) {
			return i + 1, true
		}
	}
	if !attrStartRe.MatchString(l) {
		return 0, false
	}
	joined := l
	for j := i + 1; j < len(lines) && j < i+4; j++ {
		next := strings.TrimSpace(lines[j])
		if next == "" || strings.HasPrefix(next, ">") {
			break
		}
		joined += " " + next
		if len(joined) > 400 {
			break
		}
		if endsWithColon(next) && (attrEndRe.MatchString(joined) || attrAddrRe.MatchString(joined) || attrVerbRe.MatchString(joined)) {
			return j + 1, true
		}
	}
	return 0, false
}

// endsWithColon is the cheap test before the attribution patterns.
func endsWithColon(s string) bool {
	return strings.HasSuffix(s, ":") || strings.HasSuffix(s, "：")
}

// unquoted drops the lines quoted with ">".
func unquoted(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func isBlank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

var (
	mobileSigRe = regexp.MustCompile(`(?i)^\s*(sent from my \w+|sent from (mail|outlook|yahoo mail|gmail|proton ?mail|samsung)\b.*|sent from my .*|get outlook for (ios|android).*|sent via .*|sent with .*|von meinem \S+ gesendet|gesendet von meinem .*|envoyé de mon \S+.*|enviado desde mi \S+.*|enviado do meu \S+.*|verzonden (vanaf|met) mijn \S+.*|verstuurd vanaf mijn \S+.*|inviato da .*|skickat från min .*|iPhoneから送信|从我的\S+发送)\s*$`)
	signoffRe   = regexp.MustCompile(`(?i)^\s*(best|best regards|best wishes|all the best|regards|kind regards|warm regards|warmly|warmest|cheers|thanks|thanks again|thank you|many thanks|thx|talk soon|speak soon|sincerely|yours|yours truly|take care|-\s*\w+|viele grüße|beste grüße|liebe grüße|mit freundlichen grüßen|lg|vg|cordialement|bien à vous|bien cordialement|amitiés|bises|saludos|un saludo|atentamente|un abrazo|groeten|met vriendelijke groet|hartelijke groet|groetjes|cordiali saluti|saluti|un saluto|atenciosamente|abraços|よろしくお願いします|よろしくお願いいたします|此致)\s*[,.!]*\s*$`)
)

// cutSignature drops a signature: from a "-- " line or a mobile footer to the
// end, or a sign-off line followed by a short block of name and contact lines.
func cutSignature(lines []string) []string {
	for i, l := range lines {
		t := strings.TrimRight(l, " \t")
		if t == "--" || t == "-- " || t == "—" || strings.TrimSpace(l) == "-- " {
			return lines[:i]
		}
		if mobileSigRe.MatchString(l) {
			return lines[:i]
		}
	}
	tail := tailShape(lines)
	first := firstNonBlank(lines)
	for i, l := range lines {
		if !signoffRe.MatchString(l) {
			continue
		}
		if n := tail[i+1]; n <= 10 && i > first {
			return lines[:i]
		}
	}
	return lines
}

// firstNonBlank is the index of the first line with text, len(lines) if none.
func firstNonBlank(lines []string) int {
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			return i
		}
	}
	return len(lines)
}

// tailShape gives, for each index i, the number of non-blank lines from i to
// the end, or 100 when one of them is too long for a signature.
func tailShape(lines []string) []int {
	tail := make([]int, len(lines)+1)
	for i := len(lines) - 1; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		switch {
		case tail[i+1] >= 100 || len(t) > 90:
			tail[i] = 100
		case t != "":
			tail[i] = tail[i+1] + 1
		default:
			tail[i] = tail[i+1]
		}
	}
	return tail
}

// cutNameBlock drops a signature block that starts with the sender's name on
// a line of its own and is followed by a few short lines (title, phone, hours).
func cutNameBlock(lines []string, sender string) []string {
	sender = strings.TrimSpace(strings.Trim(sender, `"'`))
	if sender == "" {
		return lines
	}
	if last, first, ok := strings.Cut(sender, ", "); ok { // "Doe, Jane"
		sender = first + " " + last
	}
	first, _, _ := strings.Cut(sender, " ")
	tail := tailShape(lines)
	start := firstNonBlank(lines)
	for i, l := range lines {
		t := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "-–—~ "))
		if !(strings.EqualFold(t, sender) || strings.EqualFold(t, first) && len(first) > 1) {
			continue
		}
		if i <= start {
			return lines
		}
		if n := tail[i+1]; n >= 1 && n <= 8 {
			return lines[:i]
		}
	}
	return lines
}

// tidy trims the lines and the blank lines around them.
func tidy(lines []string) string {
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\u00a0")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// newTextOf is the new text of a message: from text/plain when present, else
// from the HTML without its quote containers.
func newTextOf(p *mimeParts, sender string) string {
	if len(p.plain) > 0 {
		return stripQuotes(strings.Join(p.plain, "\n"), sender)
	}
	var parts []string
	for _, h := range p.html {
		parts = append(parts, stripQuotes(htmlNewText(h), sender))
	}
	return strings.TrimSpace(strings.Join(parts, "\n"))
}

var (
	addrSpec      = `[A-Za-z0-9._%+\-'=]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}`
	nameAngleRe   = regexp.MustCompile(`(?:"([^"\n]{1,80})"|([\p{Lu}][\p{L}\p{M}'’.\-]*(?:[ \t]+[\p{Lu}][\p{L}\p{M}'’.\-]*){0,3}))[ \t]*[<(\[](?:mailto:)?(` + addrSpec + `)[>)\]]`)
	bareAddrRe    = regexp.MustCompile(`(?:mailto:)?(` + addrSpec + `)`)
	namePossessRe = regexp.MustCompile(`([\p{Lu}][\p{L}\p{M}'\-]*(?:[ \t]+[\p{Lu}][\p{L}\p{M}'\-]*){0,2})(?:'s|’s)[ \t]+(?:e-?mail|address|email address)[ \t]+(?:is|:)[ \t]*$`)
	pronounRe     = regexp.MustCompile(`(?i)\b(?:his|her|their|the)[ \t]+(?:e-?mail(?:[ \t]+address)?|address|contact)[ \t]*(?:is|:)[ \t]*$`)
	fullNameRe    = regexp.MustCompile(`\b[\p{Lu}][\p{Ll}\p{M}'’\-]+(?:[ \t]+[\p{Lu}][\p{Ll}\p{M}'’\-]+){1,2}\b`)
	nameReachRe   = regexp.MustCompile(`(?:reach|contact|email|write to|e-mail)[ \t]+([\p{Lu}][\p{L}\p{M}'\-]*(?:[ \t]+[\p{Lu}][\p{L}\p{M}'\-]*){0,2})[ \t]+(?:at|on|via)[ \t]*:?[ \t]*$`)
)

// notNameWords start capitalised phrases that are not names.
var notNameWords = map[string]bool{"Hi": true, "Hello": true, "Dear": true, "Her": true, "His": true, "Their": true, "You": true, "Tell": true,
	"The": true, "My": true, "Your": true, "She": true, "He": true, "They": true, "Thanks": true, "Best": true, "Please": true, "Let": true}

// lastFullName is the last "First Last" written in s, for "her email is ...".
func lastFullName(s string) string {
	names := fullNameRe.FindAllString(s, -1)
	for i := len(names) - 1; i >= 0; i-- {
		first, rest, _ := strings.Cut(names[i], " ")
		if notNameWords[first] {
			if fullNameRe.MatchString(rest) {
				return strings.TrimSpace(rest)
			}
			continue
		}
		return names[i]
	}
	return ""
}

// mentionedAddresses finds addresses written in the text with the name that
// goes with them: "Jane Doe <jane@x>", "Jane Doe (jane@x)", "Jane's email is jane@x",
// "reach Jane at jane@x", "... Jane Doe. Her email is jane@x", or a bare
// address; the sender's own address is left out.
func mentionedAddresses(text, sender string) []mail.Address {
	var out []mail.Address
	seen := map[string]bool{strings.ToLower(sender): true}
	add := func(name, addr string) {
		key := strings.ToLower(addr)
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, mail.Address{Name: strings.TrimSpace(name), Address: addr})
	}
	for _, m := range nameAngleRe.FindAllStringSubmatch(text, -1) {
		name := m[1] + m[2]
		add(name, m[3])
	}
	for _, loc := range bareAddrRe.FindAllStringSubmatchIndex(text, -1) {
		addr := text[loc[2]:loc[3]]
		if seen[strings.ToLower(addr)] {
			continue
		}
		before := text[max(0, loc[0]-80):loc[0]]
		if i := strings.LastIndexByte(before, '\n'); i >= 0 {
			before = before[i+1:]
		}
		name := ""
		if m := namePossessRe.FindStringSubmatch(before); m != nil {
			name = m[1]
		} else if m := nameReachRe.FindStringSubmatch(before); m != nil {
			name = m[1]
		} else if pronounRe.MatchString(before) {
			name = lastFullName(text[max(0, loc[0]-240):loc[0]])
		}
		add(name, addr)
	}
	return out
}
