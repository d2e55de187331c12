package inbox

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
)

// Limits of the MIME walk: they bound memory and time on hostile input.
const (
	maxDepth         = 50      // multipart nesting followed at most
	maxParts         = 2000    // parts visited at most
	maxTextPart      = 4 << 20 // bytes kept of one text part
	maxTextTotal     = 8 << 20 // bytes kept of all text parts
	maxCalendarBytes = 1 << 20
	maxReportBytes   = 256 << 10
)

// mimeParts is what the walk keeps of a message: the readable text, a
// calendar, and the pieces of a delivery report.
type mimeParts struct {
	plain, html   []string
	textBytes     int
	calendar      []byte
	calendarParam string // the method= parameter of the text/calendar part

	reportType     string // report-type of a multipart/report
	disposition    bool   // a message/disposition-notification part (a read receipt)
	deliveryStatus []byte // message/delivery-status or message/global-delivery-status
	returned       *textproto.Header
	returnedBody   string // the start of a returned message's text, when it came as text
}

// text is the whole readable text: text/plain preferred, HTML as text otherwise.
func (p *mimeParts) text() string {
	if len(p.plain) > 0 {
		return strings.Join(p.plain, "\n")
	}
	if len(p.html) > 0 {
		var parts []string
		for _, h := range p.html {
			parts = append(parts, HTMLToText(h))
		}
		return strings.Join(parts, "\n")
	}
	return ""
}

// contentType reads a Content-Type leniently: a broken parameter list still
// gives the media type and the parameters that can be read.
func contentType(v string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", map[string]string{}
	}
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		for k, pv := range params {
			params[k] = decodeHeader(pv)
		}
		return strings.ToLower(mt), params
	}
	params := map[string]string{}
	pieces := strings.Split(v, ";")
	mt := strings.ToLower(strings.TrimSpace(pieces[0]))
	for _, piece := range pieces[1:] {
		k, val, ok := strings.Cut(piece, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return mt, params
}

// disposition tells whether a part is an attachment, and its file name.
func disposition(h *textproto.Header, ctParams map[string]string) (attachment bool, filename string) {
	d := h.Get("Content-Disposition")
	dt, dp := contentType(d)
	filename = dp["filename"]
	if filename == "" {
		filename = ctParams["name"]
	}
	return dt == "attachment", strings.ToLower(filename)
}

// decodeTransfer undoes the Content-Transfer-Encoding; unknown encodings pass through.
func decodeTransfer(enc string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Filter{r: r})
	}
	return r
}

// base64Filter drops everything that is not base64 (line breaks, spaces, junk),
// and stops at padding so that trailing garbage is ignored.
type base64Filter struct {
	r    io.Reader
	done bool
}

func (f *base64Filter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for empty := 0; ; empty++ {
		if f.done {
			return 0, io.EOF
		}
		if empty > 100 {
			return 0, io.ErrNoProgress
		}
		n, err := f.r.Read(p)
		j := 0
		for i := 0; i < n; i++ {
			c := p[i]
			switch {
			case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
				p[j] = c
				j++
			case c == '-':
				p[j] = '+'
				j++
			case c == '_':
				p[j] = '/'
				j++
			}
		}
		if j > 0 || err != nil {
			if err == io.EOF && j > 0 {
				err = nil
			}
			return j, err
		}
	}
}

// readText reads a text part into UTF-8, up to limit bytes. An unknown
// charset keeps the bytes: UTF-8 when they are, else read as Windows-1252.
func readText(r io.Reader, cs string, limit int) string {
	raw, _ := io.ReadAll(io.LimitReader(r, int64(limit)))
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch cs {
	case "utf-8", "utf8":
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	case "", "us-ascii", "ascii":
	default:
		if cr, err := charset.Reader(cs, bytes.NewReader(raw)); err == nil {
			if dec, err := io.ReadAll(cr); err == nil || len(dec) > 0 {
				return strings.ToValidUTF8(string(dec), "\uFFFD")
			}
		}
	}
	// no charset, or an unknown one: UTF-8 when the bytes are, else Windows-1252
	if utf8.Valid(raw) {
		return string(raw)
	}
	dec, err := charmap.Windows1252.NewDecoder().Bytes(raw)
	if err != nil {
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	return string(dec)
}

// walkFrame is one open multipart on the walk's stack.
type walkFrame struct {
	mr        *textproto.MultipartReader
	mediaType string
}

// walkMIME visits the MIME tree without recursion, keeping at most maxDepth
// open multiparts and reading only text, calendar and report parts; the rest
// (attachments, images) is skipped as a stream.
func walkMIME(top textproto.Header, body []byte) *mimeParts {
	p := &mimeParts{}
	var stack []walkFrame
	visit := func(h *textproto.Header, r io.Reader, depth int, parent string) {
		mt, params := contentType(h.Get("Content-Type"))
		if mt == "" || !strings.Contains(mt, "/") {
			if parent == "multipart/digest" {
				mt = "message/rfc822"
			} else {
				mt = "text/plain"
			}
		}
		if strings.HasPrefix(mt, "multipart/") {
			if mt == "multipart/report" && p.reportType == "" {
				p.reportType = strings.ToLower(params["report-type"])
			}
			if params["boundary"] == "" {
				p.addPlain(readText(r, "", maxTextPart)) // a multipart without boundary: keep it as text
				return
			}
			if depth >= maxDepth {
				return
			}
			stack = append(stack, walkFrame{mr: textproto.NewMultipartReader(r, params["boundary"]), mediaType: mt})
			return
		}
		attach, filename := disposition(h, params)
		dr := decodeTransfer(h.Get("Content-Transfer-Encoding"), r)
		switch {
		case mt == "text/calendar" || mt == "application/ics" || strings.HasSuffix(filename, ".ics"):
			if p.calendar == nil {
				cal, _ := io.ReadAll(io.LimitReader(dr, maxCalendarBytes))
				if cs := params["charset"]; cs != "" {
					cal = []byte(readText(bytes.NewReader(cal), cs, maxCalendarBytes))
				}
				p.calendar = cal
				p.calendarParam = strings.ToUpper(strings.TrimSpace(params["method"]))
			}
		case mt == "message/disposition-notification" || mt == "message/global-disposition-notification":
			p.disposition = true
		case mt == "message/delivery-status" || mt == "message/global-delivery-status":
			if p.deliveryStatus == nil {
				p.deliveryStatus, _ = io.ReadAll(io.LimitReader(dr, maxReportBytes))
			}
		case mt == "message/rfc822" || mt == "message/global" || mt == "text/rfc822-headers" || mt == "message/global-headers" || mt == "message/rfc822-headers":
			if p.returned == nil {
				br := bufio.NewReader(io.LimitReader(dr, maxReportBytes))
				rh, err := textproto.ReadHeader(br)
				if err == nil || rh.Len() > 0 {
					p.returned = &rh
				}
			}
		case attach:
			// skipped: the multipart reader discards the rest of the part
		case mt == "text/plain":
			p.addPlain(readText(dr, params["charset"], p.room()))
		case mt == "text/html":
			p.addHTML(readText(dr, params["charset"], p.room()))
		}
	}
	visit(&top, bytes.NewReader(body), 0, "")
	for parts := 0; len(stack) > 0 && parts < maxParts; parts++ {
		f := stack[len(stack)-1]
		part, err := f.mr.NextPart()
		if err != nil {
			stack = stack[:len(stack)-1]
			continue
		}
		visit(&part.Header, part, len(stack), f.mediaType)
	}
	return p
}

func (p *mimeParts) room() int {
	r := maxTextTotal - p.textBytes
	if r > maxTextPart {
		r = maxTextPart
	}
	if r < 0 {
		r = 0
	}
	return r
}

func (p *mimeParts) addPlain(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	p.textBytes += len(s)
	p.plain = append(p.plain, s)
}

func (p *mimeParts) addHTML(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	p.textBytes += len(s)
	p.html = append(p.html, s)
}

// calendarMethod is the METHOD of a calendar: the MIME parameter, else the
// METHOD property of the VCALENDAR.
func calendarMethod(param string, cal []byte) string {
	for _, line := range strings.Split(unfoldICS(cal), "\n") {
		line = strings.TrimSpace(line)
		if len(line) > 7 && strings.EqualFold(line[:7], "METHOD:") {
			return strings.ToUpper(strings.TrimSpace(line[7:]))
		}
		if strings.EqualFold(line, "BEGIN:VEVENT") {
			break
		}
	}
	return param
}

func unfoldICS(cal []byte) string {
	s := strings.ReplaceAll(string(cal), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n ", "")
	return strings.ReplaceAll(s, "\n\t", "")
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
