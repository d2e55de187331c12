package inbox

import (
	"html"
	"regexp"
	"strings"
)

// HTMLToText turns an HTML body into readable text: blocks become lines,
// <br> a line break, entities are decoded, scripts and styles dropped, and
// the lines of a <blockquote> are prefixed with "> ".
func HTMLToText(h string) string {
	return htmlText(h, false)
}

// htmlNewText is HTMLToText without the quoted part of a reply: Gmail's
// div.gmail_quote, Apple's and Thunderbird's blockquote type=cite, Yahoo's
// div.yahoo_quoted, and from Outlook's div#divRplyFwdMsg or #appendonsend on.
func htmlNewText(h string) string {
	return htmlText(h, true)
}

var blockTags = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "tr": true, "table": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "ul": true, "ol": true, "pre": true,
	"blockquote": true, "section": true, "article": true, "header": true, "footer": true, "dd": true, "dt": true,
	"tbody": true, "thead": true, "address": true, "center": true, "form": true,
}

var skipContentTags = map[string]bool{"script": true, "style": true, "head": true, "title": true, "xml": true, "noscript": true, "template": true}

var voidTags = map[string]bool{"br": true, "hr": true, "img": true, "meta": true, "link": true, "input": true, "col": true, "area": true, "base": true, "wbr": true, "source": true}

var attrRe = regexp.MustCompile(`(?i)([a-z_:][-a-z0-9_:.]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)

type htmlTag struct {
	name    string
	closing bool
	self    bool
	attrs   map[string]string
}

func parseTag(s string) htmlTag {
	var t htmlTag
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		t.closing = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") {
		t.self = true
		s = s[:len(s)-1]
	}
	i := strings.IndexAny(s, " \t\r\n/")
	if i < 0 {
		i = len(s)
	}
	t.name = strings.ToLower(s[:i])
	rest := s[i:]
	if strings.ContainsAny(rest, "=") {
		t.attrs = map[string]string{}
		for _, m := range attrRe.FindAllStringSubmatch(rest, 16) {
			t.attrs[strings.ToLower(m[1])] = m[2] + m[3] + m[4]
		}
	}
	return t
}

// isQuoteContainer tells whether an element starts a quoted reply that is
// dropped with its content; cutRest means everything after it is dropped too.
func isQuoteContainer(t htmlTag) (drop, cutRest bool) {
	if t.attrs == nil {
		return false, false
	}
	id := strings.ToLower(t.attrs["id"])
	class := " " + strings.ToLower(t.attrs["class"]) + " "
	switch {
	case id == "divrplyfwdmsg" || id == "appendonsend" || strings.HasPrefix(id, "x_divrplyfwdmsg") || id == "x_appendonsend" || id == "mail-editor-reference-message-container":
		return true, true
	case strings.Contains(class, " gmail_quote ") || strings.Contains(class, " gmail_quote_container ") || strings.Contains(class, " yahoo_quoted ") || strings.Contains(class, " moz-cite-prefix "):
		return true, false
	case t.name == "blockquote" && strings.EqualFold(t.attrs["type"], "cite"):
		return true, false
	}
	return false, false
}

func htmlText(h string, dropQuotes bool) string {
	var b strings.Builder
	b.Grow(len(h) / 2)
	var (
		skipTag   string // an element whose content is skipped
		skipDepth int
		quote     int // blockquote nesting, for "> " prefixes
		pre       int
		lineStart = true
		pendingSp bool
		mailto    string // the address of an open <a href="mailto:...">
		linkStart int    // where its text starts in b
	)
	newline := func() {
		b.WriteByte('\n')
		lineStart = true
		pendingSp = false
	}
	writeText := func(s string) {
		for _, r := range s {
			if pre == 0 && (r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f') {
				if !lineStart {
					pendingSp = true
				}
				continue
			}
			if r == '\u00a0' && lineStart && pre == 0 {
				continue
			}
			if pre > 0 && r == '\n' {
				newline()
				continue
			}
			if lineStart {
				for i := 0; i < quote; i++ {
					b.WriteString("> ")
				}
				lineStart = false
			} else if pendingSp {
				b.WriteByte(' ')
			}
			pendingSp = false
			if r == '\u00a0' {
				r = ' '
			}
			b.WriteRune(r)
		}
	}
	for i := 0; i < len(h); {
		lt := strings.IndexByte(h[i:], '<')
		if lt < 0 {
			if skipTag == "" {
				writeText(html.UnescapeString(h[i:]))
			}
			break
		}
		if lt > 0 && skipTag == "" {
			writeText(html.UnescapeString(h[i : i+lt]))
		}
		i += lt
		if strings.HasPrefix(h[i:], "<!--") {
			end := strings.Index(h[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := tagEnd(h, i+1)
		if end < 0 {
			if skipTag == "" {
				writeText(html.UnescapeString(h[i:]))
			}
			break
		}
		inner := h[i+1 : end]
		i = end + 1
		if len(inner) == 0 || inner[0] == '!' || inner[0] == '?' {
			continue
		}
		t := parseTag(inner)
		if t.name == "" {
			continue
		}
		if skipTag != "" {
			if t.name == skipTag && !voidTags[t.name] && !t.self {
				if t.closing {
					skipDepth--
				} else {
					skipDepth++
				}
				if skipDepth == 0 {
					skipTag = ""
				}
			}
			continue
		}
		if !t.closing && !t.self && skipContentTags[t.name] {
			skipTag, skipDepth = t.name, 1
			continue
		}
		if dropQuotes && !t.closing {
			if drop, cut := isQuoteContainer(t); drop {
				if cut {
					return finishText(b.String())
				}
				if !voidTags[t.name] && !t.self {
					skipTag, skipDepth = t.name, 1
				}
				continue
			}
		}
		switch t.name {
		case "a":
			// a mailto link keeps its address: "Jane Doe <jane@x>", as a text part would
			if !t.closing {
				mailto, linkStart = "", b.Len()
				if href := strings.TrimSpace(t.attrs["href"]); len(href) > 7 && strings.EqualFold(href[:7], "mailto:") {
					addr, _, _ := strings.Cut(href[7:], "?")
					mailto = strings.TrimSpace(html.UnescapeString(addr))
				}
			} else if mailto != "" {
				if linkStart <= b.Len() && !strings.Contains(b.String()[linkStart:], mailto) {
					writeText(" <" + mailto + ">")
				}
				mailto = ""
			}
			continue
		case "blockquote":
			if !lineStart {
				newline()
			}
			if t.closing {
				if quote > 0 {
					quote--
				}
			} else if !t.self {
				quote++
			}
			continue
		case "pre":
			if t.closing && pre > 0 {
				pre--
			} else if !t.closing {
				pre++
			}
		case "td", "th":
			if t.closing {
				pendingSp = !lineStart
			}
			continue
		}
		if blockTags[t.name] {
			if t.name == "br" || !lineStart {
				newline()
			}
		}
	}
	return finishText(b.String())
}

// tagEnd finds the '>' closing a tag that starts at i, skipping quoted values.
func tagEnd(h string, i int) int {
	var q byte
	for ; i < len(h); i++ {
		c := h[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			if i > 0 && h[i-1] == '=' || i > 1 && h[i-1] == ' ' && h[i-2] == '=' {
				q = c
			}
		case c == '>':
			return i
		}
	}
	return -1
}

// finishText trims trailing spaces of each line and collapses runs of blank lines.
func finishText(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if strings.TrimSpace(strings.TrimLeft(l, "> ")) == "" && strings.TrimSpace(l) != ">" {
			if strings.TrimSpace(l) == "" {
				blank++
				if blank > 1 {
					continue
				}
				out = append(out, "")
				continue
			}
		}
		blank = 0
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
