package contacts

import (
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-vcard"
	"golang.org/x/text/encoding/htmlindex"
)

// logical is one unfolded vCard content line and where it started.
type logical struct {
	line int
	text string
}

// skipProps are properties never needed, often large (base64 photos).
var skipProps = map[string]bool{"PHOTO": true, "LOGO": true, "SOUND": true, "KEY": true}

// parseVCard reads every card. go-vcard decodes each card; before that this
// unfolds lines (including vCard 2.1 quoted-printable soft breaks), decodes
// quoted-printable and CHARSET values, and turns 2.1's bare parameters
// ("EMAIL;INTERNET;PREF:") into TYPE= ones, which go-vcard would misread.
func parseVCard(text string) ([]Record, []*RowError, error) {
	lines := unfold(text)
	var recs []Record
	var bad []*RowError
	var card []logical
	inCard, sawCard := false, false
	start := 0
	for _, l := range lines {
		upper := strings.ToUpper(strings.TrimSpace(l.text))
		switch {
		case upper == "BEGIN:VCARD":
			if inCard {
				bad = append(bad, &RowError{Line: start, Err: errors.New("vCard has no END:VCARD")})
			}
			inCard, sawCard, start, card = true, true, l.line, nil
		case upper == "END:VCARD":
			if !inCard {
				bad = append(bad, &RowError{Line: l.line, Err: errors.New("END:VCARD without BEGIN:VCARD")})
				continue
			}
			inCard = false
			rec, rerr, ok := decodeCard(start, card)
			switch {
			case rerr != nil:
				bad = append(bad, rerr)
			case ok:
				recs = append(recs, rec)
			}
		case inCard:
			card = append(card, l)
		}
	}
	if inCard {
		bad = append(bad, &RowError{Line: start, Err: errors.New("vCard has no END:VCARD")})
	}
	if !sawCard {
		return nil, nil, errors.New("vcard: no BEGIN:VCARD found")
	}
	return recs, bad, nil
}

// unfold joins continuation lines (starting with a space or tab) and 2.1
// quoted-printable soft line breaks (a line ending in "=").
func unfold(text string) []logical {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var out []logical
	for i, raw := range strings.Split(text, "\n") {
		n := len(out)
		switch {
		case n > 0 && isQP(out[n-1].text) && strings.HasSuffix(out[n-1].text, "="):
			out[n-1].text += "\n" + raw
		case n > 0 && (strings.HasPrefix(raw, " ") || strings.HasPrefix(raw, "\t")):
			out[n-1].text += raw[1:]
		default:
			if strings.TrimSpace(raw) == "" {
				continue
			}
			out = append(out, logical{line: i + 1, text: raw})
		}
	}
	return out
}

func isQP(line string) bool {
	head, _, ok := strings.Cut(line, ":")
	return ok && strings.Contains(strings.ToUpper(head), "QUOTED-PRINTABLE")
}

// normalize rewrites one content line into the form go-vcard reads well, or ""
// to drop it.
func normalize(l string) (string, error) {
	head, value, ok := cutUnquoted(l)
	if !ok {
		return "", nil // not a property line; go-vcard would skip it too
	}
	parts := splitUnquoted(head)
	name := parts[0]
	prop := strings.ToUpper(name)
	if i := strings.LastIndexByte(prop, '.'); i >= 0 {
		prop = prop[i+1:]
	}
	if skipProps[prop] {
		return "", nil
	}
	var params []string
	qp := false
	charset := ""
	for _, p := range parts[1:] {
		k, v, hasEq := strings.Cut(p, "=")
		switch {
		case !hasEq && strings.EqualFold(p, "QUOTED-PRINTABLE"):
			qp = true
		case !hasEq && (strings.EqualFold(p, "8BIT") || strings.EqualFold(p, "7BIT")):
		case !hasEq:
			params = append(params, "TYPE="+p)
		case strings.EqualFold(k, "ENCODING") && strings.EqualFold(v, "QUOTED-PRINTABLE"):
			qp = true
		case strings.EqualFold(k, "ENCODING") && (strings.EqualFold(v, "8BIT") || strings.EqualFold(v, "7BIT")):
		case strings.EqualFold(k, "CHARSET"):
			charset = strings.Trim(v, `"`)
		default:
			params = append(params, p)
		}
	}
	if qp {
		b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(value)))
		if err != nil {
			return "", fmt.Errorf("%s: bad quoted-printable value", prop)
		}
		value = string(b)
	}
	if charset != "" && !strings.EqualFold(charset, "UTF-8") && !strings.EqualFold(charset, "US-ASCII") {
		enc, err := htmlindex.Get(charset)
		if err != nil {
			return "", fmt.Errorf("%s: unknown charset %q", prop, charset)
		}
		b, err := enc.NewDecoder().Bytes([]byte(value))
		if err != nil {
			return "", fmt.Errorf("%s: not %s text", prop, charset)
		}
		value = string(b)
	}
	if qp {
		// A decoded value may hold real line breaks: escape them as vCard does.
		value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\n", `\n`)
	}
	return strings.Join(append([]string{name}, params...), ";") + ":" + value, nil
}

// cutUnquoted splits "NAME;P=\"a:b\":value" at the first colon outside quotes.
func cutUnquoted(l string) (head, value string, ok bool) {
	inQ := false
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '"':
			inQ = !inQ
		case ':':
			if !inQ {
				return l[:i], l[i+1:], true
			}
		}
	}
	return "", "", false
}

func splitUnquoted(head string) []string {
	var parts []string
	inQ, last := false, 0
	for i := 0; i < len(head); i++ {
		switch head[i] {
		case '"':
			inQ = !inQ
		case ';':
			if !inQ {
				parts = append(parts, head[last:i])
				last = i + 1
			}
		}
	}
	return append(parts, head[last:])
}

// decodeCard reads one card's lines (between BEGIN and END) with go-vcard.
func decodeCard(start int, lines []logical) (Record, *RowError, bool) {
	var sb strings.Builder
	sb.WriteString("BEGIN:VCARD\r\n")
	for _, l := range lines {
		n, err := normalize(l.text)
		if err != nil {
			return Record{}, &RowError{Line: l.line, Err: err}, true
		}
		if n != "" {
			sb.WriteString(n)
			sb.WriteString("\r\n")
		}
	}
	sb.WriteString("END:VCARD\r\n")
	card, err := vcard.NewDecoder(strings.NewReader(sb.String())).Decode()
	if err != nil {
		return Record{}, &RowError{Line: start, Err: fmt.Errorf("vcard: %w", err)}, true
	}

	b := builder{rec: Record{Line: start}}
	if fn := strings.TrimSpace(card.PreferredValue(vcard.FieldFormattedName)); fn != "" {
		b.name(fn)
	} else if n := card.Name(); n != nil {
		b.name(unescape(n.HonorificPrefix), unescape(n.GivenName), unescape(n.AdditionalName),
			unescape(n.FamilyName), unescape(n.HonorificSuffix))
	}
	// The preferred address first, then the others in file order.
	if pref := card.Preferred(vcard.FieldEmail); pref != nil {
		b.email(pref.Value)
	}
	for _, f := range card[vcard.FieldEmail] {
		b.email(f.Value)
	}
	if org := card.PreferredValue(vcard.FieldOrganization); org != "" {
		b.rec.Org = oneLine(unescape(strings.SplitN(org, ";", 2)[0]))
	}
	b.rec.Role = oneLine(unescape(card.PreferredValue(vcard.FieldTitle)))
	if b.rec.Role == "" {
		b.rec.Role = oneLine(unescape(card.PreferredValue(vcard.FieldRole)))
	}
	b.rec.Note = strings.TrimSpace(unescape(card.PreferredValue(vcard.FieldNote)))
	b.rec.URL = oneLine(card.PreferredValue(vcard.FieldURL))
	for _, f := range card[vcard.FieldCategories] {
		for _, c := range strings.Split(f.Value, ",") {
			b.tag(unescape(c))
		}
	}
	rec, rerr, ok := b.done()
	return rec, rerr, ok
}

// unescape removes the escapes go-vcard leaves in place (\; and \N).
func unescape(s string) string {
	return strings.NewReplacer(`\;`, ";", `\N`, "\n", `\:`, ":").Replace(s)
}
