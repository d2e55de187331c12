package inbox

// A small reader of dates and clock times in free text, written for replies to
// meeting requests and for out-of-office notices.
//
// Why not github.com/olebedev/when: it ignores zone names ("1pm ET"), reads 12/03 as
// 12 March where our users write US month/day, and reads English only, while
// out-of-office notices arrive in German, French and Spanish. The phrasings that
// matter here are few and regular, so this file reads them with a handful of
// patterns and says "not sure" (no mention, or an indefinite one) for the rest.
//
// Conventions, chosen to be conservative:
//   - n/n is month/day (US); n.n. and n.n.yyyy are day.month (as written in Europe);
//     yyyy-mm-dd is ISO. A date without a year is the next such day on or after the
//     message date (a date more than 7 days in the past rolls to next year).
//   - "Tuesday" and "next Tuesday" are both the first Tuesday after the message date
//     (never the same day); "this Tuesday" may be the message day itself.
//   - A clock hour without am/pm: 1–7 is afternoon, 8–11 morning, 12 noon; 13–23 and
//     any hh:mm with hh ≥ 13 is 24-hour. "14h", "14 Uhr" are 24-hour.
//   - A zone written right after the time ("1pm ET", "10:00 CET", "3pm (PT)") wins over
//     the account's zone; ET/EST/EDT are America/New_York at that date, so DST is right
//     whichever of EST/EDT the person wrote. "my time"/"local time" is an unknown zone,
//     so the time is not definite.

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// dayKind says how a mention names a day.
type dayKind int

const (
	dayNone    dayKind = iota
	dayDate            // a calendar date; year 0 when not written
	dayOfMonth         // "the 15th": a day of the next month that has it
	dayWeekday         // "Tuesday", "next Tuesday"
	dayRel             // "tomorrow": days from the message date
)

// mention is one date, time, or period found in a text. Offsets index the lower-cased text.
type mention struct {
	start, end int

	day     dayKind
	year    int
	month   int
	mday    int
	weekday time.Weekday
	this    bool // "this Tuesday": may be the message day
	part    int  // "Thursday morning": 1 morning, 2 afternoon, 3 evening; 0 the whole day
	rel     int

	clock    bool
	hour     int
	min      int
	meridiem bool // am/pm written, or 24-hour form: the hour is exact
	zone     string
	zoneBad  bool // a zone the reader cannot place ("my time")

	period bool   // "next week", "in January", "2-4pm": not a single start
	bound  string // "after", "before", "until", "through", "from" … written just before
	what   string // the matched text, for reasons
}

// monthNames maps month names and abbreviations (en, de, fr, es) to their number.
var monthNames = map[string]int{
	"january": 1, "jan": 1, "januar": 1, "jänner": 1, "janvier": 1, "enero": 1,
	"february": 2, "feb": 2, "februar": 2, "février": 2, "fevrier": 2, "févr": 2, "febrero": 2,
	"march": 3, "mar": 3, "märz": 3, "maerz": 3, "mars": 3, "marzo": 3,
	"april": 4, "apr": 4, "avril": 4, "abril": 4,
	"may": 5, "mai": 5, "mayo": 5,
	"june": 6, "jun": 6, "juni": 6, "juin": 6, "junio": 6,
	"july": 7, "jul": 7, "juli": 7, "juillet": 7, "julio": 7,
	"august": 8, "aug": 8, "août": 8, "aout": 8, "agosto": 8,
	"september": 9, "sep": 9, "sept": 9, "septembre": 9, "septiembre": 9, "setiembre": 9,
	"october": 10, "oct": 10, "oktober": 10, "okt": 10, "octobre": 10, "octubre": 10,
	"november": 11, "nov": 11, "novembre": 11, "noviembre": 11,
	"januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8, // Dutch; the rest are spelled as above
	// Italian and Portuguese, for out-of-office notices.
	"gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9, "ottobre": 10, "dicembre": 12,
	"janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
	"december": 12, "dec": 12, "dezember": 12, "dez": 12, "décembre": 12, "decembre": 12, "déc": 12, "diciembre": 12, "dic": 12,
}

// weekdayNames maps weekday names (en, de, fr, es) to their day. "mon", "sat" and
// "sun" are left out: they are ordinary words too ("mon agenda", "sat down").
var weekdayNames = map[string]time.Weekday{
	"monday": time.Monday, "montag": time.Monday, "lundi": time.Monday, "lunes": time.Monday,
	"tuesday": time.Tuesday, "tue": time.Tuesday, "tues": time.Tuesday, "dienstag": time.Tuesday, "mardi": time.Tuesday, "martes": time.Tuesday,
	"wednesday": time.Wednesday, "wed": time.Wednesday, "weds": time.Wednesday, "mittwoch": time.Wednesday, "mercredi": time.Wednesday, "miércoles": time.Wednesday, "miercoles": time.Wednesday,
	"thursday": time.Thursday, "thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "donnerstag": time.Thursday, "jeudi": time.Thursday, "jueves": time.Thursday,
	"friday": time.Friday, "fri": time.Friday, "freitag": time.Friday, "vendredi": time.Friday, "viernes": time.Friday,
	"saturday": time.Saturday, "samstag": time.Saturday, "sonnabend": time.Saturday, "samedi": time.Saturday, "sábado": time.Saturday, "sabado": time.Saturday,
	"sunday": time.Sunday, "sonntag": time.Sunday, "dimanche": time.Sunday, "domingo": time.Sunday,
	"lunedì": time.Monday, "martedì": time.Tuesday, "mercoledì": time.Wednesday, "giovedì": time.Thursday, "venerdì": time.Friday, "sabato": time.Saturday, "domenica": time.Sunday,
	"maandag": time.Monday, "dinsdag": time.Tuesday, "woensdag": time.Wednesday, "donderdag": time.Thursday, "vrijdag": time.Friday, "zaterdag": time.Saturday, "zondag": time.Sunday,
}

// zoneNames maps a zone as people write it after a time to an IANA zone. "" means
// the zone is the reader's own and unknown to us ("my time").
var zoneNames = map[string]string{
	"et": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
	"eastern": "America/New_York", "eastern time": "America/New_York", "ny time": "America/New_York", "new york time": "America/New_York",
	"ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago", "central": "America/Chicago", "central time": "America/Chicago",
	"mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver", "mountain": "America/Denver", "mountain time": "America/Denver",
	"pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
	"pacific": "America/Los_Angeles", "pacific time": "America/Los_Angeles",
	"utc": "UTC", "gmt": "UTC", "z": "UTC",
	"cet": "Europe/Berlin", "cest": "Europe/Berlin", "mez": "Europe/Berlin", "mesz": "Europe/Berlin",
	"berlin time": "Europe/Berlin", "paris time": "Europe/Paris", "madrid time": "Europe/Madrid",
	"bst": "Europe/London", "uk time": "Europe/London", "london time": "Europe/London",
	"jst": "Asia/Tokyo", "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
	"太平洋時間": "America/Los_Angeles", "東部時間": "America/New_York", "日本時間": "Asia/Tokyo",
	// The reader's own zone, which is the account's: "3pm your time".
	"your time": "local", "your time zone": "local", "your timezone": "local", "deine zeit": "local", "ihrer zeit": "local", "ihre zeit": "local",
	"votre heure": "local", "heure de chez vous": "local", "tu hora": "local", "su hora": "local", "jouw tijd": "local", "uw tijd": "local",
	"my time": "", "local time": "", "my local time": "", "my timezone": "", "my time zone": "",
}

func alternation[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return strings.Join(keys, "|")
}

// lb is a left word boundary that also works before non-ASCII letters (RE2's \b
// is ASCII-only); patterns that use it put the mention in the group named "m".
const lb = `(?:^|[^\p{L}\p{N}])`
const rb = `(?:$|[^\p{L}\p{N}])`

// whenPatterns are compiled once per reader; see newWhenReader.
type whenReader struct {
	iso, monthDay, dayMonth, slash, dotted, ofMonth                  *regexp.Regexp
	rng, clockColon, clockAmPm, clockH, clockUhr, clockAt, clockWord *regexp.Regexp
	weekday, rel, period, monthAlone                                 *regexp.Regexp
	zone                                                             *regexp.Regexp
	dayRange, oooInclusive, oooReturn, oooThrough                    *regexp.Regexp
	jaDate, jaClock, oooReturnAfter, dayPart                         *regexp.Regexp
}

// newWhenReader compiles the patterns; Understand and ReturnDate share one copy
// (see patterns in intent.go).
func newWhenReader() *whenReader {
	months := alternation(monthNames)
	days := alternation(weekdayNames)
	ampm := `(a\.m\.?|p\.m\.?|am\b|pm\b)`
	return &whenReader{
		iso:            regexp.MustCompile(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`),
		monthDay:       regexp.MustCompile(lb + `(?P<m>(` + months + `)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?)` + rb),
		dayMonth:       regexp.MustCompile(`\b(?P<m>(\d{1,2})(?:st|nd|rd|th|er|\.|º)?\s*(?:of\s+|de\s+)?(` + months + `)\.?(?:,?\s+(?:de\s+)?(\d{4}))?)` + rb),
		slash:          regexp.MustCompile(`\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b`),
		dotted:         regexp.MustCompile(`\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?`),
		ofMonth:        regexp.MustCompile(`\b(?:the\s+|den\s+|le\s+|el\s+)(\d{1,2})(st|nd|rd|th|\.|er)?\b`),
		rng:            regexp.MustCompile(`\b(\d{1,2})(?:[:.](\d{2}))?\s*(?:` + ampm + `\s*)?(?:-|–|to|until|till|bis|à|a)\s*(\d{1,2})(?:[:.](\d{2}))?\s*` + ampm + `?`),
		clockColon:     regexp.MustCompile(`\b(\d{1,2}):(\d{2})(?:\s*` + ampm + `)?`),
		clockAmPm:      regexp.MustCompile(`\b(\d{1,2})(?:\.(\d{2}))?\s*` + ampm),
		clockH:         regexp.MustCompile(`\b(\d{1,2})\s?h(\d{2})?\b`),
		clockUhr:       regexp.MustCompile(`\b(\d{1,2})(?:[:.](\d{2}))?\s*(?:uhr|uur)\b`),
		clockAt:        regexp.MustCompile(lb + `(?P<m>(at|@|around|um|om|à|a las|a la|after|before|from|until|till|by|between|ab|bis|nach|vor|après|avant|desde|hasta|antes de|después de)\s+(\d{1,2})(?:\s*o'?clock)?)` + rb),
		clockWord:      regexp.MustCompile(lb + `(?P<m>noon|midday|mittag|midi|mediodía|mediodia|(\d{1,2})\s*o'?clock)` + rb),
		weekday:        regexp.MustCompile(lb + `(?P<m>(?:(next|this|coming|nächsten|nächste|kommenden|kommende|diesen|ce|este|el próximo|el proximo|le)\s+)?(` + days + `)(?:\s+(prochain|qui vient|que viene|próximo|proximo))?)` + rb),
		rel:            regexp.MustCompile(lb + `(?P<m>the day after tomorrow|day after tomorrow|tomorrow|today|tonight|this (?:morning|afternoon|evening)|übermorgen|morgen|heute|après-demain|apres-demain|demain|aujourd'hui|pasado mañana|mañana|hoy)` + rb),
		period:         regexp.MustCompile(lb + `(?P<m>(?:(?:early|late|later|end of|the end of|beginning of|the beginning of|mid|sometime|some time)\s+)?(?:this|next|the following|the coming|coming)\s+(?:week|month|year|quarter)|(?:in|after)\s+(?:a|one|two|three|four|a few|a couple of|\d+)\s+(?:weeks?|months?|days?)|nächste woche|nächsten monat|la semaine prochaine|le mois prochain|la próxima semana|el próximo mes|la semana que viene|after the holidays|after the new year|the new year|new year)` + rb),
		monthAlone:     regexp.MustCompile(lb + `(?P<m>(?:in|after|until|from|early|mid|late|end of|the end of|beginning of|im|ab|nach|en|après|después de|despues de)\s+(?:-\s*)?(january|february|march|april|may|june|july|august|september|october|november|december|januar|februar|märz|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre))` + rb),
		oooReturnAfter: regexp.MustCompile(`^\s*(?:[,，]?\s*)?(?:に|より|から|起)?\s*(?:返回|回到|回来|回來|上班|返岗|戻り|戻ります|出社|復帰)`),
		dayPart:        regexp.MustCompile(`^,?\s*(?:in the\s+|am\s+|au\s+|le\s+|por la\s+|en la\s+|de la\s+)?(morning|afternoon|evening|vormittag|nachmittag|abend|matin|après-midi|apres-midi|soir|mañana|tarde)` + rb),
		jaDate:         regexp.MustCompile(`(?:(\d{4})年\s*)?(\d{1,2})月\s*(\d{1,2})[日号號]`),
		jaClock:        regexp.MustCompile(`(\d{1,2})時(?:(\d{1,2})分|(半))?`),
		dayRange:       regexp.MustCompile(lb + `(?P<m>(?:(` + months + `)\.?\s+)?(\d{1,2})(?:st|nd|rd|th|\.)?\s*(?:-|to|through|thru|bis|au|al)\s*(\d{1,2})(?:st|nd|rd|th|\.|er)?(?:\s*(?:of\s+|de\s+)?(` + months + `)\.?)?)` + rb),
		oooInclusive:   regexp.MustCompile(`^\s*\(?(inclusive|inclus|inclusivement|einschließlich|einschl\.?|inklusive|incluido)`),
		oooReturn:      regexp.MustCompile(`(back|return|returning|returns|in the office|in office|reachable|available again|wieder|zurück|retour|reviens|rentre|regreso|regresaré|regresare|vuelvo|volveré|volvere|de vuelta|reincorpor|rientr|torner|di ritorno|ritorno|de volta|retorn|voltarei)`),
		oooThrough:     regexp.MustCompile(`(through|thru|bis einschließlich|bis und mit|up to and including)\s*$`),
		zone:           regexp.MustCompile(`^\s*\(?\s*(` + alternation(zoneNames) + `)` + rb),
	}
}

// mentions finds the dates, times and periods in lower-cased text s, in order.
// Earlier, more specific patterns win where matches overlap.
func (r *whenReader) mentions(s string) []mention {
	var out []mention
	used := make([]bool, len(s)) // bytes already inside a mention
	taken := func(a, b int) bool {
		for i := a; i < b; i++ {
			if used[i] {
				return true
			}
		}
		return false
	}
	add := func(m mention) {
		if m.start >= m.end || taken(m.start, m.end) {
			return
		}
		for i := m.start; i < m.end; i++ {
			used[i] = true
		}
		m.what = s[m.start:m.end]
		out = append(out, m)
	}
	// group returns the span of the named group "m" when the pattern has one.
	span := func(re *regexp.Regexp, loc []int) (int, int) {
		if i := re.SubexpIndex("m"); i > 0 && loc[2*i] >= 0 {
			return loc[2*i], loc[2*i+1]
		}
		return loc[0], loc[1]
	}
	sub := func(loc []int, i int) string {
		if loc[2*i] < 0 {
			return ""
		}
		return s[loc[2*i]:loc[2*i+1]]
	}

	// num finds the matches of a pattern that needs an ASCII digit (\d):
	// none in a text without one, where it is not run (most replies have no
	// digit, and each pattern costs microseconds, every byte tried).
	digits := strings.ContainsAny(s, "0123456789")
	num := func(re *regexp.Regexp) [][]int {
		if !digits {
			return nil
		}
		return re.FindAllStringSubmatchIndex(s, -1)
	}
	for _, loc := range num(r.iso) {
		y, mo, d := atoi(sub(loc, 1)), atoi(sub(loc, 2)), atoi(sub(loc, 3))
		if validDate(y, mo, d) {
			add(mention{start: loc[0], end: loc[1], day: dayDate, year: y, month: mo, mday: d})
		}
	}
	for _, loc := range num(r.monthDay) {
		a, b := span(r.monthDay, loc)
		mo, d, y := monthNames[strings.TrimSuffix(sub(loc, 2), ".")], atoi(sub(loc, 3)), atoi(sub(loc, 4))
		if validDate(y, mo, d) {
			add(mention{start: a, end: b, day: dayDate, year: y, month: mo, mday: d})
		}
	}
	for _, loc := range num(r.dayMonth) {
		a, b := span(r.dayMonth, loc)
		d, mo, y := atoi(sub(loc, 2)), monthNames[strings.TrimSuffix(sub(loc, 3), ".")], atoi(sub(loc, 4))
		if validDate(y, mo, d) {
			add(mention{start: a, end: b, day: dayDate, year: y, month: mo, mday: d})
		}
	}
	var jaDates, jaClocks [][]int
	if !isASCII(s) { // they need CJK characters
		jaDates, jaClocks = num(r.jaDate), num(r.jaClock)
	}
	for _, loc := range jaDates {
		y, mo, d := atoi(sub(loc, 1)), atoi(sub(loc, 2)), atoi(sub(loc, 3))
		if validDate(y, mo, d) {
			add(mention{start: loc[0], end: loc[1], day: dayDate, year: y, month: mo, mday: d})
		}
	}
	for _, loc := range num(r.slash) {
		mo, d, y := atoi(sub(loc, 1)), atoi(sub(loc, 2)), fullYear(sub(loc, 3))
		if validDate(y, mo, d) {
			add(mention{start: loc[0], end: loc[1], day: dayDate, year: y, month: mo, mday: d})
		}
	}
	for _, loc := range num(r.dotted) {
		if loc[1] < len(s) && s[loc[1]] >= '0' && s[loc[1]] <= '9' {
			continue // part of a longer number
		}
		d, mo, y := atoi(sub(loc, 1)), atoi(sub(loc, 2)), fullYear(sub(loc, 3))
		if validDate(y, mo, d) {
			add(mention{start: loc[0], end: loc[1], day: dayDate, year: y, month: mo, mday: d})
		}
	}
	// Clock ranges ("2-4pm", "14 bis 16 Uhr") are periods, not starts; read before clocks.
	for _, loc := range num(r.rng) {
		h1, h2 := atoi(sub(loc, 1)), atoi(sub(loc, 4))
		hasSuffix := sub(loc, 3) != "" || sub(loc, 6) != "" || sub(loc, 2) != "" || sub(loc, 5) != ""
		if h1 > 23 || h2 > 23 || !hasSuffix {
			continue
		}
		add(mention{start: loc[0], end: loc[1], clock: true, period: true, hour: h1})
	}
	clock := func(a, b, h, mi int, suffix string, exact bool) {
		if h > 23 || mi > 59 {
			return
		}
		m := mention{start: a, end: b, clock: true, hour: h, min: mi, meridiem: exact}
		switch {
		case strings.HasPrefix(suffix, "p"):
			if h == 0 || h > 12 {
				return
			}
			if h < 12 {
				m.hour = h + 12
			}
			m.meridiem = true
		case strings.HasPrefix(suffix, "a"):
			if h == 0 || h > 12 {
				return
			}
			if h == 12 {
				m.hour = 0
			}
			m.meridiem = true
		case h >= 13 || h == 0:
			m.meridiem = true
		}
		if taken(m.start, m.end) {
			return
		}
		r.readZone(s, &m)
		add(m)
	}
	for _, loc := range num(r.clockColon) {
		clock(loc[0], loc[1], atoi(sub(loc, 1)), atoi(sub(loc, 2)), sub(loc, 3), false)
	}
	for _, loc := range num(r.clockAmPm) {
		clock(loc[0], loc[1], atoi(sub(loc, 1)), atoi(sub(loc, 2)), sub(loc, 3), false)
	}
	for _, loc := range jaClocks {
		mi := atoi(sub(loc, 2))
		if sub(loc, 3) != "" {
			mi = 30
		}
		clock(loc[0], loc[1], atoi(sub(loc, 1)), mi, "", false)
	}
	for _, loc := range num(r.clockUhr) {
		clock(loc[0], loc[1], atoi(sub(loc, 1)), atoi(sub(loc, 2)), "", true)
	}
	for _, loc := range num(r.clockH) {
		clock(loc[0], loc[1], atoi(sub(loc, 1)), atoi(sub(loc, 2)), "", true)
	}
	for _, loc := range r.clockWord.FindAllStringSubmatchIndex(s, -1) {
		a, b := span(r.clockWord, loc)
		if h := sub(loc, 2); h != "" {
			clock(a, b, atoi(h), 0, "", false)
		} else {
			clock(a, b, 12, 0, "", true)
		}
	}
	for _, loc := range num(r.clockAt) {
		a, b := span(r.clockAt, loc)
		// "at 12/1", "at 3.5", "at 2nd": not a clock
		if b < len(s) && (s[b] == '/' || s[b] == ':' || s[b] == '.' && b+1 < len(s) && s[b+1] >= '0' && s[b+1] <= '9') {
			continue
		}
		n := len(out)
		clock(a, b, atoi(sub(loc, 3)), 0, "", false)
		switch w := sub(loc, 2); w {
		case "at", "@", "around", "um", "om", "à", "a las", "a la":
		default:
			if len(out) > n {
				out[len(out)-1].bound = w
			}
		}
	}
	for _, loc := range r.weekday.FindAllStringSubmatchIndex(s, -1) {
		a, b := span(r.weekday, loc)
		pre := sub(loc, 2)
		add(mention{start: a, end: b, day: dayWeekday, weekday: weekdayNames[sub(loc, 3)],
			this: pre == "this" || pre == "diesen" || pre == "ce" || pre == "este"})
	}
	for _, loc := range r.rel.FindAllStringSubmatchIndex(s, -1) {
		a, b := span(r.rel, loc)
		w := s[a:b]
		if (w == "morgen" || w == "mañana") && precededBy(s, a, "guten", "am", "jeden", "den", "la", "por la", "de la", "esta", "cada") {
			continue // "Guten Morgen", "por la mañana": morning, not tomorrow
		}
		m := mention{start: a, end: b, day: dayRel}
		switch w {
		case "tomorrow", "morgen", "demain", "mañana":
			m.rel = 1
		case "the day after tomorrow", "day after tomorrow", "übermorgen", "après-demain", "apres-demain", "pasado mañana":
			m.rel = 2
		}
		add(m)
	}
	for _, loc := range num(r.ofMonth) {
		d := atoi(sub(loc, 1))
		suffix := sub(loc, 2)
		if d < 1 || d > 31 || suffix == "" && !strings.HasPrefix(s[loc[0]:], "the") {
			continue
		}
		if suffix == "" {
			continue // "the 3" is not a day
		}
		add(mention{start: loc[0], end: loc[1], day: dayOfMonth, mday: d})
	}
	for _, re := range []*regexp.Regexp{r.period, r.monthAlone} {
		for _, loc := range re.FindAllStringSubmatchIndex(s, -1) {
			a, b := span(re, loc)
			add(mention{start: a, end: b, period: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	for i := range out {
		if out[i].day == dayNone {
			continue
		}
		if w := out[i].what; strings.HasPrefix(w, "this ") {
			out[i].part = partOfDay(strings.TrimPrefix(w, "this "))
		}
		if loc := r.dayPart.FindStringSubmatchIndex(s[out[i].end:]); loc != nil {
			next := len(s)
			if i+1 < len(out) {
				next = out[i+1].start
			}
			if out[i].end+loc[3] <= next {
				out[i].part = partOfDay(s[out[i].end+loc[2] : out[i].end+loc[3]])
				out[i].end += loc[3]
				out[i].what = s[out[i].start:out[i].end]
			}
		}
	}
	for i := range out {
		if out[i].bound != "" {
			continue
		}
		out[i].bound = boundBefore(s, out[i].start)
	}
	return out
}

// boundWords, written just before a date or time, make it a bound rather than a
// start ("after 3", "until Dec 8", "bis 7.12.", "jusqu'au 8 décembre"). Longest first.
var boundWords = []string{"no earlier than", "a partir del", "earlier than", "a partir de", "a partir do", "después del", "the week of", "à partir de", "à partir du", "before the", "despues de", "después de", "later than", "not before", "after the", "antes del", "fino alle", "until the", "antes de", "hasta el", "jusqu'au", "jusqu’au", "between", "fino al", "jusqu'à", "jusqu’à", "through", "week of", "before", "fino a", "after", "après", "avant", "dalla", "hasta", "until", "from", "nach", "thru", "till", "ate", "até", "bis", "dal", "til", "vor", "ab", "by"}

// boundBefore gives the bound word written just before index i in s, or "".
// An article between them is skipped ("until the 8th", "bis zum 7.12.").
func boundBefore(s string, i int) string {
	before := strings.TrimRight(s[max(0, i-40):i], " \t\n")
	for _, art := range []string{"the", "dem", "den", "zum", "le", "el", "on"} {
		if strings.HasSuffix(before, " "+art) {
			before = strings.TrimRight(before[:len(before)-len(art)], " \t\n")
			break
		}
	}
	for _, w := range boundWords {
		if strings.HasSuffix(before, w) {
			if j := len(before) - len(w); j == 0 || !isLetter(before[j-1]) {
				return w
			}
		}
	}
	return ""
}

// readZone looks for a zone right after a clock mention and extends it.
func (r *whenReader) readZone(s string, m *mention) {
	rest := s[m.end:]
	loc := r.zone.FindStringSubmatchIndex(rest)
	if loc == nil {
		return
	}
	name := rest[loc[2]:loc[3]]
	if clk := s[m.start:m.end]; name == "et" && !strings.ContainsAny(clk, "apm:") && !strings.HasPrefix(clk, "at ") {
		return // French "14h et 15h": "et" is "and"
	}
	m.zone = zoneNames[name]
	m.zoneBad = m.zone == ""
	end := m.end + loc[3]
	if end < len(s) && s[end] == ')' {
		end++
	}
	m.end = end
}

func precededBy(s string, i int, words ...string) bool {
	before := strings.TrimRight(s[:i], " \t")
	for _, w := range words {
		if strings.HasSuffix(before, w) {
			j := len(before) - len(w)
			if j == 0 || !isLetter(before[j-1]) {
				return true
			}
		}
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

func fullYear(s string) int {
	y := atoi(s)
	if len(s) == 2 {
		y += 2000
	}
	return y
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	if y != 0 && (y < 1900 || y > 2200) {
		return false
	}
	yy := y
	if yy == 0 {
		yy = 2024 // a leap year: Feb 29 without a year is possible
	}
	return time.Date(yy, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
}

// partOfDay numbers a part of the day: 1 morning, 2 afternoon, 3 evening.
func partOfDay(w string) int {
	switch w {
	case "morning", "vormittag", "matin", "mañana":
		return 1
	case "afternoon", "nachmittag", "après-midi", "apres-midi", "tarde":
		return 2
	case "evening", "abend", "soir":
		return 3
	}
	return 0
}

// inPart reports whether hour h falls in part p of the day (0: any).
func inPart(h, p int) bool {
	switch p {
	case 1:
		return h >= 5 && h < 12
	case 2:
		return h >= 12 && h < 18
	case 3:
		return h >= 17 && h < 23
	}
	return true
}

// resolveDay gives the calendar day (midnight in loc) a day mention names, read
// against the message date. ok is false when the mention names no single day.
func resolveDay(m mention, date time.Time, loc *time.Location) (time.Time, bool) {
	d := date.In(loc)
	today := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	switch m.day {
	case dayDate:
		if m.year != 0 {
			return time.Date(m.year, time.Month(m.month), m.mday, 0, 0, 0, 0, loc), true
		}
		t := time.Date(today.Year(), time.Month(m.month), m.mday, 0, 0, 0, 0, loc)
		if t.Before(today.AddDate(0, 0, -7)) {
			t = time.Date(today.Year()+1, time.Month(m.month), m.mday, 0, 0, 0, 0, loc)
		}
		return t, true
	case dayOfMonth:
		for i := 0; i < 3; i++ {
			t := time.Date(today.Year(), today.Month()+time.Month(i), m.mday, 0, 0, 0, 0, loc)
			if t.Day() == m.mday && !t.Before(today) {
				return t, true
			}
		}
	case dayWeekday:
		n := (int(m.weekday) - int(today.Weekday()) + 7) % 7
		if n == 0 && !m.this {
			n = 7
		}
		return today.AddDate(0, 0, n), true
	case dayRel:
		return today.AddDate(0, 0, m.rel), true
	}
	return time.Time{}, false
}

// zoneOf is the zone a clock mention is written in: its own when named, else loc.
// ok is false when the text names a zone that cannot be placed.
func zoneOf(m mention, loc *time.Location) (*time.Location, bool) {
	if m.zoneBad {
		return nil, false
	}
	if m.zone == "" || m.zone == "local" {
		return loc, true
	}
	z, err := time.LoadLocation(m.zone)
	if err != nil {
		return nil, false
	}
	return z, true
}

// meetingHour applies the meeting-time reading of an hour without am/pm.
func meetingHour(m mention) int {
	if m.meridiem || m.hour >= 13 {
		return m.hour
	}
	if m.hour >= 1 && m.hour <= 7 {
		return m.hour + 12
	}
	return m.hour
}

// ReturnDate finds an out-of-office return date in text ("back on December 8",
// "returning Monday", "until 12/08", "ab dem 8. Dezember", "de retour le 8 décembre",
// "hasta el 8 de diciembre"), read against the message date, and gives the first day
// the person is back as midnight in loc.
//
// "until X", "bis X", "jusqu'au X", "hasta X" are read as back on X (the common
// meaning in these notices); "through X", "X inclusive", "bis einschließlich X",
// and the end of a range "Dec 1-5" as back the day after. A stated return ("back",
// "return", "wieder", "retour", "regreso") wins over "until", which wins over a range.
// A date before the message day is ignored. No keyword, no date: ok is false.
func ReturnDate(text string, date time.Time, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	s := strings.ToLower(normalizeText(text))
	r := patterns().when
	ms := r.mentions(s)
	d := date.In(loc)
	today := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)

	// "Monday, December 14" and "Dec 8 (Tuesday)" name one day: keep the date,
	// with the weekday's place and bound.
	merged := make([]mention, 0, len(ms))
	for i := 0; i < len(ms); i++ {
		a := ms[i]
		if i+1 < len(ms) {
			b := ms[i+1]
			if b.start-a.end <= 3 && (a.day == dayWeekday) != (b.day == dayWeekday) && a.day != dayNone && b.day != dayNone {
				if a.day == dayWeekday {
					b.start, b.bound = a.start, a.bound
					a = b
				}
				i++
			}
		}
		merged = append(merged, a)
	}
	ms = merged
	best, bestRank := time.Time{}, 0
	for i, m := range ms {
		if m.day == dayNone || m.period {
			continue
		}
		day, ok := resolveDay(m, date, loc)
		if !ok {
			continue
		}
		ctx := s[max(0, sentenceStart(s, m.start), m.start-80):m.start]
		after := s[m.end:min(len(s), m.end+30)]
		rank, plus := r.returnRank(ctx, m.bound, after)
		if rank == 0 && r.oooReturnAfter.MatchString(after) {
			rank = 3 // "将于2026年12月10日返回", "12月10日に戻ります"
		}
		// The end of a range: "Dec 1 - 5", "Dec 1 to Dec 5", "vom 1. bis 5."
		if rank == 0 && i > 0 && ms[i-1].day != dayNone {
			between := strings.TrimSpace(s[ms[i-1].end:m.start])
			if between == "-" || between == "–" || between == "to" || between == "through" || between == "thru" {
				rank, plus = 1, 1
			}
		}
		if rank == 0 {
			continue
		}
		day = day.AddDate(0, 0, plus)
		if day.Before(today) || m.year == 0 && day.After(today.AddDate(0, 6, 0)) {
			continue // past, or a yearless date that only fits next year's calendar
		}
		if rank > bestRank {
			best, bestRank = day, rank
		}
	}
	// A range of days in one month ("Dec 1-5", "1.-5. Dezember", "del 1 al 5 de
	// diciembre"): back the day after its end.
	if bestRank < 2 {
		for _, ix := range r.dayRange.FindAllStringSubmatchIndex(s, -1) {
			sub := func(i int) string {
				if ix[2*i] < 0 {
					return ""
				}
				return s[ix[2*i]:ix[2*i+1]]
			}
			mo := monthNames[sub(2)]
			if mo == 0 {
				mo = monthNames[sub(5)]
			}
			from, to := atoi(sub(3)), atoi(sub(4))
			if mo == 0 || !validDate(0, mo, to) || from >= to {
				continue
			}
			end, _ := resolveDay(mention{day: dayDate, month: mo, mday: to}, date, loc)
			if back := end.AddDate(0, 0, 1); !back.Before(today) && (bestRank == 0 || back.After(best)) {
				best, bestRank = back, 1
			}
		}
	}
	if bestRank == 0 {
		return time.Time{}, false
	}
	return best, true
}

// returnRank scores what is written around a date in an out-of-office notice:
// 3 a stated return, 2 "until"/"through", 1 "after"; plus is the days to add.
func (r *whenReader) returnRank(before, bound, after string) (rank, plus int) {
	if r.oooInclusive.MatchString(after) && bound != "" {
		return 2, 1
	}
	if r.oooThrough.MatchString(before) {
		return 2, 1
	}
	if r.oooReturn.MatchString(before) {
		switch bound {
		case "after", "nach", "après", "después de", "despues de", "después del", "after the":
			return 3, 1
		}
		return 3, 0
	}
	switch bound {
	case "until", "till", "til", "bis", "jusqu'à", "jusqu'au", "jusqu’à", "jusqu’au", "hasta", "hasta el", "until the", "fino al", "fino a", "até", "ate":
		return 2, 0
	case "through", "thru":
		return 2, 1
	case "ab", "à partir du", "à partir de", "a partir del", "a partir de", "a partir do", "dal", "dalla":
		return 3, 0
	case "after", "nach", "après", "después de", "despues de", "después del", "after the":
		return 1, 1
	}
	return 0, 0
}

// sentenceStart is the index where the sentence holding i begins.
func sentenceStart(s string, i int) int {
	lo := max(0, i-200) // a sentence longer than this starts where the window does
	j := lo + strings.LastIndexAny(s[lo:i], "\n!?;")
	if j < lo {
		j = lo - 1
	}
	for k := i - 1; k > j && k >= 3; k-- {
		// ". " after a word of 3+ letters ends a sentence; "Dr. " and "8. " do not.
		if s[k] == '.' && k+1 < len(s) && s[k+1] == ' ' && isLetter(s[k-1]) && isLetter(s[k-2]) && isLetter(s[k-3]) {
			return k + 1
		}
	}
	return j + 1
}

// normalizeText folds typographic quotes and spaces so patterns stay simple.
func normalizeText(s string) string {
	return strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u00a0", " ", "\u202f", " ", "\u2013", "-", "\u2014", " - ", "（", "(", "）", ")", "？", "?", "！", "!", "：", ":", "０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9", "\r\n", "\n", "\r", "\n").Replace(s)
}
