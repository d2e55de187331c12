package inbox

// Reading what a human reply means: agree, decline, propose another time, ask a
// question — and, when the reply fixes one, the meeting start.
//
// The reading is deliberately conservative. The workflow turns Unclear and Question
// into review items for the user and sends invites only for Agree with a Time, so
// every rule below prefers "not sure" over a guess:
//
//  1. The text is cut into clauses at sentence ends and at "but", "however", "aber",
//     "mais", "pero", and at consequence words (", so", ", donc", ", así que", ", deshalb";
//     "so" without a comma only when a day or time follows). A clause is negative when
//     it carries a negation or a busy phrase ("doesn't work", "can't do", "in meetings",
//     "out of the office", "leider nicht", "ne … pas", "no puedo"); dates, times and slot
//     numbers in a negative clause are rejections, never picks. "Tuesday doesn't work,
//     but Thursday does" and "I'm out Thursday, so Friday is better for me" therefore
//     read only the second day.
//  2. Dates and times in the other clauses are grouped per clause into candidate
//     times. A candidate that matches exactly one proposed slot (by date, weekday,
//     clock time, or all of them, in the zone the text names or else loc) picks that
//     slot: Agree, Slot, Time. One that matches none but names a day and a clock is a
//     new time: Agree with Time when the clause accepts firmly ("Thursday at 3pm works
//     for me"), else ProposeTime with Time. A day without a clock, a clock without a
//     day, a range ("after 3", "2-4pm") or a period ("next week", "in January") is an
//     alternative without a definite start: ProposeTime, Time nil. Two different
//     candidates, a hedge ("maybe", "might", "not sure"), a clause that contradicts
//     itself (weekday and date disagree), or a zone we cannot place: never a Time.
//  3. A slot by number ("the second one", "option 2", "#2", "2nd") picks it; a number
//     beyond the proposed slots is Unclear. "Any of those work", "whichever suits you"
//     is AnySlot; "none of those work", "that time doesn't work" is ProposeTime, Time nil.
//  4. A reply that hands the request to someone else ("looping in", "adding my
//     colleague", "meet Jane", not "meet for coffee") is Unclear: an introduction for
//     the user to look at.
//  5. Without a time: a decline ("unfortunately", "have to pass", "not taking",
//     "no longer at", "not the right person") is Decline unless it also offers later
//     ("try me in January", "after the 15th"), which is ProposeTime with Time nil.
//     Rejecting a proposed time without naming another ("I can't do Tuesday") is
//     ProposeTime with Time nil. A kind opener before the decline ("I'd love to, but…")
//     does not make it agreement; agreement and decline side by side is Unclear,
//     except when the only agreement is to help in writing ("can't do a call, but happy
//     to answer a few questions by email"), which is Decline.
//  6. Agreement without any time ("Sure, happy to chat!") is Agree with Time nil — the
//     workflow asks the user — except when exactly one slot was proposed, which a plain
//     "that works" accepts. "Would work" and "is better for me" accept a proposed slot
//     they name; "I'm in" agrees only on its own, not in "I'm in meetings". Agreement
//     that also asks something ("Happy to. Phone or video?") is Question: the user
//     answers first. Pleasantries ("good luck", "great to
//     meet you") and agreement reported for others ("she said she'd be happy to") do
//     not count as agreement.
//  7. A question that neither agrees nor declines is Question; a hedge ("let me check
//     and get back to you") or nothing recognised is Unclear.
//
// Languages: English fully; German, French, Spanish, Dutch for intent words, weekday
// and month names and clock forms; Japanese for the commonest agree/decline words and
// 12月3日 / 14時 forms. Anything else reads as Unclear unless it carries a "?".

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Intent is what a human reply means for the ask it answers.
type Intent string

// The intents of a human reply.
const (
	Agree       Intent = "agree"
	Decline     Intent = "decline"
	ProposeTime Intent = "propose_time"
	Question    Intent = "question"
	Unclear     Intent = "unclear"
)

// Understanding is the reading of a reply's new text.
type Understanding struct {
	Intent  Intent
	Time    *time.Time // a definite meeting start, when the reply fixes one
	Slot    int        // 1-based index of the proposed slot picked, 0 if none
	AnySlot bool       // "any of those work": the caller takes the earliest still free
	Reason  string     // one line a person can read: why this reading
}

// intentReader holds the phrase patterns; built per call from constant text.
type intentReader struct {
	when                                 *whenReader
	clauseSplit, consequence             *regexp.Regexp
	inWriting                            *regexp.Regexp
	negative, notNegative, hedge         *regexp.Regexp
	agree, firm, propose, decline, later *regexp.Regexp
	anySlot, noneSlot, ordinal, numbered *regexp.Regexp
	questionStart                        *regexp.Regexp
	agreeMask, thirdPerson, handoff      *regexp.Regexp
	meetName                             *regexp.Regexp
	jaAgree, jaDecline                   *regexp.Regexp
}

// patterns is compiled on first use and never changes: a constant table, not state.
var patterns = sync.OnceValue(newIntentReader)

func words(ws ...string) string { return strings.Join(ws, "|") }

// isASCII reports whether s is ASCII only: then no pattern made of CJK
// characters can match it, and it is not run (each costs microseconds a
// clause, every byte tried).
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func newIntentReader() *intentReader {
	w := func(alts string) *regexp.Regexp { return regexp.MustCompile(lb + `(?:` + alts + `)` + rb) }
	return &intentReader{
		when:        newWhenReader(),
		clauseSplit: regexp.MustCompile(`,\s*(?:how about|what about|could we|can we|would|maybe|perhaps|instead|i can|i'm free|i am free|wie wäre|que diriez|qué tal|que tal)\s|(?:^|[\s,;(-])(?:but|however|though|although|except|aber|jedoch|doch|mais|cependant|pero|sin embargo)(?:[\s,:]|$)`),
		// "…, so Friday is better": what follows a consequence word is a clause of its own.
		consequence: regexp.MustCompile(`(,\s*|\s+)(so|and so|which means|donc|alors|deshalb|daher|dus|así que|asi que|por eso|por lo tanto)\s+`),
		negative: w(words(`can't`, `cannot`, `can not`, `cant`, `couldn't`, `won't`, `wont`, `wouldn't`, `doesn't`, `does not`, `doesnt`, `don't`, `do not`, `dont`,
			`isn't`, `is not`, `isnt`, `aren't`, `not`, `unable`, `unavailable`, `no longer`, `never`, `nope`, `neither`, `nor`,
			`busy`, `booked`, `conflict`, `clash`, `out of (?:the )?office`, `traveling`, `travelling`, `unfortunately`, `sadly`, `regrettably`, `afraid`,
			`nicht`, `kein`, `keine`, `keinen`, `leider`, `ne`, `n'`, `pas`, `malheureusement`, `désolé`, `désolée`, `no`, `nunca`,
			`lamentablemente`, `desafortunadamente`, `lo siento`, `siento`, `imposible`, `impossible`, `sorry`, `came up`, `helaas`, `niet`, `geen`,
			`(?:i'm|i am|i'll be|i will be|we're|we are|i've been) (?:out|away|off|on vacation|on leave|on holiday|traveling|travelling)`, `out of town`, `day off`, `off that day`,
			`in meetings`, `in a meeting`, `(?:in|at) (?:a )?(?:conference|offsite|off-site|workshop|training|all-hands)`, `back[- ]to[- ]back`, `tied up`, `slammed`, `on a (?:plane|flight)`, `flying`)),
		notNegative: w(words(`no problem`, `not a problem`, `no worries`, `no trouble`, `can't wait`, `cannot wait`, `not at all`, `why not`, `no doubt`,
			`if not`, `not only`, `don't hesitate`, `do not hesitate`, `n'hésitez pas`, `n'hésite pas`, `pas de (?:problème|souci)`, `kein problem`, `no hay problema`, `sin problema`,
			`wouldn't miss`, `sorry for the (?:delay|late|slow|wait)\w*(?: (?:reply|response))?`, `sorry it took`, `sorry to be late`, `not (?:too )?late`, `don't mind`, `do not mind`, `no preference`, `doesn't matter`, `does not matter`, `not picky`, `not fussy`, `no strong preference`)),
		hedge: w(words(`maybe`, `might`, `perhaps`, `possibly`, `probably`, `tentative`, `tentatively`, `not sure`, `unsure`, `let me check`, `i'll check`, `will check`,
			`get back to you`, `confirm later`, `pencil`, `vielleicht`, `eventuell`, `peut-être`, `peut-etre`, `quizás`, `quizas`, `tal vez`)),
		agree: w(words(`works? for (?:me|us)`, `(?:that|this|it|which|all|both|either|any|whichever|one|that time|this time) (?:works|would work|will work|should work|could work)`, `works (?:great|fine|perfectly|well|nicely|best)`, `good`, `great`, `perfect`, `fine`, `suits`, `suit`, `ok`, `okay`, `sure`, `yes`, `yep`, `yeah`, `absolutely`, `definitely`, `of course`,
			`happy to`, `glad to`, `love to`, `delighted`, `i'd be glad`, `would be glad`, `let's do`, `lets do`, `let's`, `sounds good`, `sounds great`, `sounds`, `count me in`, `(?:i'm|i am|we're) in\s*(?:[!.,;)]|$)`,
			`(?:would|will|should) work`, `better for (?:me|us)`,
			`i can do`, `i can make`, `i'm free`, `i am free`, `available`, `see you`, `talk then`, `speak then`, `book`, `booked it`, `confirmed`, `confirm`, `great idea`, `deal`,
			`gladly`, `with pleasure`, `i'd love`, `i would love`, `i'd be happy`, `i would be happy`, `happy`, `glad`, `awesome`, `excellent`, `ideal`,
			`passt`, `gerne`, `gern`, `einverstanden`, `klingt gut`, `geht`, `gut`, `prima`, `super`, `ja`, `klar`, `natürlich`,
			`ça me va`, `ca me va`, `ça marche`, `ca marche`, `avec plaisir`, `volontiers`, `d'accord`, `parfait`, `oui`, `bien sûr`, `convient`, `me convient`,
			`prima`, `graag`, `goed`, `akkoord`, `klinkt goed`, `past mij`, `schikt`,
			`me viene bien`, `me va bien`, `con gusto`, `encantado`, `encantada`, `perfecto`, `de acuerdo`, `me parece bien`, `claro`, `sí`, `vale`, `genial`)),
		firm: w(words(`works`, `work for me`, `works for me`, `is fine`, `is good`, `is great`, `is perfect`, `suits me`, `sounds good`, `sounds great`, `see you`, `talk then`, `speak then`,
			`confirmed`, `i'll be there`, `booked`, `perfect`, `great`, `let's do`, `lets do`, `let's say`, `lets say`, `i'll take`, `i will take`, `count me in`, `passt`, `ça me va`, `ça marche`, `me viene bien`, `me va bien`)),
		propose: w(words(`how about`, `what about`, `could we`, `can we`, `would`, `instead`, `rather`, `prefer`, `better`, `alternatively`, `suggest`, `propose`,
			`wie wäre`, `wie waere`, `lieber`, `stattdessen`, `que diriez-vous`, `plutôt`, `plutot`, `qué tal`, `que tal`, `prefiero`, `mejor`)),
		decline: w(words(`not a good time`, `not able`, `unable`, `can't`, `cannot`, `can not`, `won't be able`, `unfortunately`, `have to pass`, `pass on this`, `i'll pass`, `must pass`,
			`not taking`, `no longer at`, `no longer with`, `no longer work`, `left the company`, `not interested`, `decline`, `too busy`, `don't have (?:the )?(?:time|bandwidth|capacity)`,
			`not the right person`, `not available`, `regret`, `afraid not`, `sadly`, `have to say no`, `going to pass`, `not in a position`, `swamped`,
			`leider`, `keine zeit`, `nicht möglich`, `kann nicht`, `muss absagen`, `absagen`, `malheureusement`, `je ne peux pas`, `pas disponible`, `désolé`, `désolée`, `pas possible`,
			`(?:isn't|is not|aren't) the right person`, `(?:don't|do not) think i'm the right (?:person|fit|contact)`, `not the right (?:fit|contact)`, `wrong person`, `moved (?:out of|on from|away from)`, `no longer (?:in|do|work)`, `not my area`,
			`helaas`, `kan niet`, `geen tijd`, `lo siento`, `no puedo`, `lamentablemente`, `desafortunadamente`, `no me es posible`, `no estoy disponible`)),
		later: w(words(`try me`, `reach out again`, `ping me`, `follow up`, `check back`, `circle back`, `get back in touch`, `contact me again`, `ask me again`, `later`, `another time`,
			`once things`, `when things`, `after (?:the|my)`, `in a few weeks`, `in a couple`, `next month`, `next quarter`, `next year`, `new year`, `in (?:january|february|march|april|may|june|july|august|september|october|november|december)`,
			`später`, `nächsten monat`, `plus tard`, `le mois prochain`, `más adelante`, `mas adelante`, `el próximo mes`, `el mes que viene`, `otro momento`)),
		anySlot: w(words(`any of (?:those|these|them|the (?:times|slots|options))`, `any (?:of the )?(?:times|slots|options) (?:work|is fine|are fine)`, `all (?:of )?(?:those|these|them|three|the times) (?:work|are fine|are good)`,
			`all work`, `either (?:one|works|is fine|would work)`, `either of (?:those|these|them)`, `whichever`, `whatever (?:works|suits|is best|is easiest)`, `you pick`, `you choose`, `your choice`, `dealer's choice`,
			`any time works`, `anytime works`, `any works`, `any is fine`, `both work`, `both are fine`, `no preference`, `flexible`,
			`alle passen`, `passen alle`, `beide passen`, `egal`, `n'importe`, `tous me vont`, `cualquiera`, `todos me vienen bien`)),
		noneSlot: w(words(`(?:that|this|those|these|the proposed|your proposed|the suggested|the)\s+(?:times?|slots?|days?|dates?|options?)\s+(?:doesn't|does not|don't|do not|won't|will not|isn't|aren't|are not|is not)\s+(?:work|good|possible)`,
			`(?:that|this|those|these|it)\s+(?:doesn't|does not|don't|do not|won't|will not)\s+work`, `none of (?:those|these|them|the (?:times|slots|options))`, `neither (?:of|one|works|time)`, `no (?:one )?of those`, `those (?:times|slots|days) (?:don't|do not|won't) work`,
			`keiner der`, `aucun`, `aucune`, `ninguno`, `ninguna`)),
		ordinal:  regexp.MustCompile(lb + `(?:(the|der|die|den|le|la|el)\s+)?(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|erste|ersten|zweite|zweiten|dritte|dritten|premier|première|deuxième|second|seconde|troisième|primera|primero|segunda|segundo|tercera|tercero)(?:\s+(one|option|slot|time|choice|suggestion|proposal|termin|vorschlag|créneau|option|opción|horario|fecha))?` + rb),
		numbered: regexp.MustCompile(`(?:` + lb + `(?:option|slot|choice|number|no\.|nr\.|opción|termin|vorschlag)\s*#?\s*|#)(\d)` + rb),
		// Help offered in writing instead of a call ("happy to answer a few questions by email").
		inWriting: w(words(`(?:by|over|via|through|per|in an?) e-?mails?`, `in writing`, `written`, `(?:answer|reply to|respond to|take) (?:a few|some|a couple of|a couple|any|your|the|those) questions`,
			`send (?:me |over |along )?(?:your |any |the )?questions`, `questions (?:by|over|via) e-?mail`, `per mail`, `schriftlich`, `par (?:e-?mail|courriel|écrit)`, `por (?:correo|e-?mail|escrito)`)),
		// Pleasantries that carry agreement words without agreeing to anything.
		agreeMask: w(words(`good luck`, `best of luck`, `all the best`, `good (?:morning|afternoon|evening|day)`, `have a (?:good|great|nice) \w+`,
			`(?:great|good|nice|lovely) to (?:meet|hear from|e-?meet|connect with) you`, `hope (?:all is|you're|you are) (?:well|good)`, `great question`, `good question`)),
		// Agreement reported for someone else ("both said they'd be happy to talk").
		thirdPerson: regexp.MustCompile(`^\W*(?:\p{L}+\s+){0,2}?(?:both|they|she|he|they'd|she'd|he'd|they're|she's|he's)(?:\s|$)`),
		// The reply hands the request to someone else: an introduction, not an answer.
		handoff: w(words(`looping in`, `loop in`, `adding (?:my )?(?:colleague|coworker|co-worker|teammate|assistant|manager|friend)`, `cc'?ing`, `cc'?d`, `copying in`,
			`introduc(?:e|ing) you to`, `forwarding (?:this|your)`, `passing (?:this|you) (?:on|along)`, `you should talk to`, `you should reach out to`,
			`connect you with`, `put you in touch`, `moving you to bcc`, `to bcc`)),
		// "Sam, meet Jane": an introduction, unless the word after "meet" is no name (see meetsSomeone).
		meetName: regexp.MustCompile(lb + `meet (\p{L}+)` + rb),
		// Japanese has no spaces between words: match these without boundaries.
		jaAgree:       regexp.MustCompile(`大丈夫|問題(?:あり|な)|お願いします|いいです|可能です|参加します|喜んで|空いて|結構です`),
		jaDecline:     regexp.MustCompile(`申し訳|できません|難しい|都合が悪|無理|お断り|残念`),
		questionStart: regexp.MustCompile(`^\s*(?:what|which|who|whom|whose|why|how|when|where|is|are|was|were|do|does|did|can|could|would|will|should|may|have|has|any chance|wer|was|wie|wann|warum|worum|welche|qui|que|quoi|quel|quelle|pourquoi|comment|est-ce|qué|quién|cuál|cómo|cuándo|por qué|de qué)` + rb),
	}
}

// clause is a stretch of the reply read on its own.
type clause struct {
	text     string
	start    int
	question bool
	negative bool
	hedged   bool
	agree    bool
	firm     bool
	propose  bool
	writing  bool // offers help in writing rather than a meeting
}

// candidate is a time a clause names: a day, a clock, or both.
type candidate struct {
	day, clk *mention
	clause   *clause
	vague    bool // a period, a range, or a bound ("after 3")
	broken   bool // contradicts itself, or a zone we cannot place
}

func (c candidate) String() string {
	var parts []string
	if c.day != nil {
		parts = append(parts, strings.TrimSpace(c.day.what))
	}
	if c.clk != nil {
		parts = append(parts, strings.TrimSpace(c.clk.what))
	}
	return strings.Join(parts, " ")
}

// Understand reads text (the reply's new text, quotes and signature already removed),
// sent at date (the message's Date header), in the account's zone loc, answering a
// message that proposed the given slot starts (may be empty). See the rules above.
func Understand(text string, date time.Time, loc *time.Location, slots []time.Time) Understanding {
	if loc == nil {
		loc = time.UTC
	}
	r := patterns()
	s := strings.ToLower(normalizeText(text))
	if strings.TrimSpace(s) == "" {
		return Understanding{Intent: Unclear, Reason: "the reply has no new text"}
	}
	wide := !isASCII(s) // the Japanese patterns need more than ASCII
	ms := r.when.mentions(s)
	mask := make([]bool, len(s)) // bytes inside a date or time mention
	for _, m := range ms {
		for i := m.start; i < m.end; i++ {
			mask[i] = true
		}
	}
	clauses := r.clauses(s, mask)

	// Candidates, per clause.
	var good, rejected []candidate
	next := 0 // mentions and clauses are both in text order
	for ci := range clauses {
		c := &clauses[ci]
		var inClause []mention
		for next < len(ms) && ms[next].start < c.start+len(c.text) {
			if ms[next].start >= c.start {
				inClause = append(inClause, ms[next])
			}
			next++
		}
		for _, cand := range group(inClause, c) {
			if c.negative {
				rejected = append(rejected, cand)
			} else {
				good = append(good, cand)
			}
		}
	}

	// Slot picks by number, outside negative clauses and outside date mentions.
	var picks []int
	var rejectedPick bool
	for ci := range clauses {
		c := &clauses[ci]
		for _, n := range r.slotNumbers(c, mask, len(slots)) {
			if c.negative {
				rejectedPick = true
				continue
			}
			picks = append(picks, n)
		}
	}

	has := func(re *regexp.Regexp, pred func(*clause) bool) bool {
		for i := range clauses {
			if pred(&clauses[i]) && re.MatchString(clauses[i].text) {
				return true
			}
		}
		return false
	}
	positive := func(c *clause) bool { return !c.negative }
	anyClause := func(*clause) bool { return true }
	agreeing := false
	meets := false // agrees to talk, not only to help in writing
	writes := false
	for i := range clauses {
		if clauses[i].agree && !clauses[i].negative && !clauses[i].question {
			agreeing = true
			if clauses[i].writing {
				writes = true
			} else {
				meets = true
			}
		}
	}
	hedged := false
	for i := range clauses {
		if clauses[i].hedged {
			hedged = true
		}
	}
	declining := has(r.decline, anyClause) || wide && has(r.jaDecline, anyClause)
	offersLater := has(r.later, positive)
	asks := false
	for i := range clauses {
		if clauses[i].question {
			asks = true
		}
	}

	// 2. Times named in the reply.
	if len(good) > 0 {
		u, ok := r.readCandidates(good, date, loc, slots)
		if ok {
			if hedged && (u.Intent == Agree || u.Intent == Question) {
				return Understanding{Intent: Unclear, Reason: "names " + quoteList(good) + " but hedges (maybe, might, not sure)"}
			}
			return u
		}
	}

	// 3. Slot by number, or any slot.
	for _, k := range picks {
		if k < 1 || k > len(slots) {
			return Understanding{Intent: Unclear, Reason: fmt.Sprintf("picks slot %d, but %d were proposed", k, len(slots))}
		}
	}
	if len(picks) > 0 && len(slots) > 0 {
		sort.Ints(picks)
		picks = uniqueInts(picks)
		if len(picks) == 1 && !hedged {
			t := slots[picks[0]-1]
			return Understanding{Intent: Agree, Time: &t, Slot: picks[0], Reason: fmt.Sprintf("picks proposed slot %d by its number", picks[0])}
		}
		if len(picks) > 1 {
			return Understanding{Intent: Agree, Reason: "accepts more than one of the proposed slots; pick one"}
		}
		return Understanding{Intent: Unclear, Reason: "mentions a proposed slot but hedges"}
	}
	if has(r.noneSlot, anyClause) {
		if offersLater || len(good) > 0 {
			return Understanding{Intent: ProposeTime, Reason: "none of the proposed times work; suggests another without a definite start"}
		}
		if declining && !agreeing {
			return Understanding{Intent: ProposeTime, Reason: "none of the proposed times work, and names no other"}
		}
		return Understanding{Intent: ProposeTime, Reason: "none of the proposed times work, and names no other"}
	}
	if has(r.anySlot, positive) && !hedged {
		if len(slots) > 0 {
			return Understanding{Intent: Agree, AnySlot: true, Reason: "any of the proposed slots works"}
		}
		return Understanding{Intent: Agree, Reason: "agrees, flexible on time, but no slots were proposed"}
	}

	// 4. Handed to someone else ("Adding my colleague Tom… Tom, could you…").
	if has(r.handoff, anyClause) || r.introduces(clauses) {
		return Understanding{Intent: Unclear, Reason: "hands the request to someone else"}
	}

	// 5. Declines and rejections without a usable time.
	if len(good) > 0 {
		// Times named, but none definite or matching: an alternative without a start.
		return Understanding{Intent: ProposeTime, Reason: "suggests " + quoteList(good) + " without a definite start"}
	}
	if len(rejected) > 0 || rejectedPick {
		what := "a proposed time"
		if len(rejected) > 0 {
			what = quoteList(rejected)
		}
		if offersLater {
			return Understanding{Intent: ProposeTime, Reason: "rules out " + what + " and offers a later time without a definite start"}
		}
		if declining && !agreeing && !mentionsSpecificDay(rejected) && !rejectedPick {
			return Understanding{Intent: Decline, Reason: "declines (" + what + " does not work) and offers no alternative"}
		}
		return Understanding{Intent: ProposeTime, Reason: "rules out " + what + " without naming another time"}
	}
	if declining {
		if offersLater {
			return Understanding{Intent: ProposeTime, Reason: "not now, but offers a later time without a definite start"}
		}
		if agreeing && !meets && writes {
			// "I can't do a call, but happy to answer a few questions by email."
			return Understanding{Intent: Decline, Reason: "declines a call and offers to help in writing instead"}
		}
		if agreeing && !hasNegativeAfterPositive(clauses) {
			return Understanding{Intent: Unclear, Reason: "both agrees and declines"}
		}
		return Understanding{Intent: Decline, Reason: "declines and offers no alternative"}
	}
	if offersLater && !agreeing {
		return Understanding{Intent: ProposeTime, Reason: "asks to talk later, without a definite start"}
	}

	// 6. Agreement without a time.
	if agreeing && !hedged {
		if len(slots) == 1 {
			t := slots[0]
			return Understanding{Intent: Agree, Time: &t, Slot: 1, Reason: "agrees to the one proposed time"}
		}
		if asks {
			// "Happy to chat. Is this a phone call?": the user answers first.
			return Understanding{Intent: Question, Reason: "agrees in principle but asks a question first"}
		}
		if len(slots) > 1 {
			return Understanding{Intent: Agree, Reason: "agrees without picking one of the proposed slots"}
		}
		return Understanding{Intent: Agree, Reason: "agrees, with no time named or proposed"}
	}
	if asks {
		return Understanding{Intent: Question, Reason: "asks a question without agreeing or declining"}
	}
	if hedged {
		return Understanding{Intent: Unclear, Reason: "hedges without agreeing or declining"}
	}
	return Understanding{Intent: Unclear, Reason: "no agreement, decline, time or question recognised"}
}

// readCandidates turns the times of non-negative clauses into an understanding.
// ok is false when they decide nothing (then the phrase rules apply).
func (r *intentReader) readCandidates(good []candidate, date time.Time, loc *time.Location, slots []time.Time) (Understanding, bool) {
	type outcome struct {
		slot   int        // matched slot, 1-based
		at     *time.Time // a definite new time
		multi  []int      // several slots match
		cand   candidate
		broken bool
	}
	var outs []outcome
	for _, c := range good {
		o := outcome{cand: c, broken: c.broken}
		if c.day != nil && c.day.rel == -1 {
			if _, ok := dayOf(c, date, loc); !ok {
				o.broken = true // "Tuesday, Dec 2" when Dec 2 is a Wednesday
			}
		}
		if !o.broken && !c.vague {
			matches := matchSlots(c, date, loc, slots)
			switch {
			case len(matches) == 1:
				o.slot = matches[0]
			case len(matches) > 1:
				o.multi = matches
			default:
				if t, ok := resolve(c, date, loc); ok {
					o.at = &t
				} else if c.day != nil && c.clk != nil {
					o.broken = true // a clock time skipped by DST, or already past
				}
			}
		}
		outs = append(outs, o)
	}
	// Drop day-only or clock-only candidates that agree with a definite one
	// ("Thursday at 3pm works. See you Thursday!").
	var definite []outcome
	for _, o := range outs {
		if o.slot > 0 || o.at != nil {
			definite = append(definite, o)
		}
	}
	startOf := func(o outcome) time.Time {
		if o.slot > 0 {
			return slots[o.slot-1]
		}
		return *o.at
	}
	consistent := func(o outcome) bool {
		for _, d := range definite {
			if fits(o.cand, startOf(d), date, loc) {
				return true
			}
		}
		return false
	}
	var kept []outcome
	for _, o := range outs {
		if o.slot == 0 && o.at == nil && !o.broken && len(definite) > 0 && consistent(o) {
			continue
		}
		kept = append(kept, o)
	}
	// Same start named twice counts once.
	var uniq []outcome
	for _, o := range kept {
		dup := false
		for _, u := range uniq {
			if (o.slot > 0 || o.at != nil) && (u.slot > 0 || u.at != nil) && startOf(o).Equal(startOf(u)) {
				dup = true
			}
		}
		if !dup {
			uniq = append(uniq, o)
		}
	}
	if len(uniq) != 1 {
		allSlots := true
		for _, o := range uniq {
			if o.slot == 0 && len(o.multi) == 0 {
				allSlots = false
			}
		}
		if allSlots && len(slots) > 0 {
			return Understanding{Intent: Agree, Reason: "accepts more than one of the proposed slots (" + quoteList(good) + "); pick one"}, true
		}
		return Understanding{Intent: ProposeTime, Reason: "names several times (" + quoteList(good) + "); none is definite"}, true
	}
	o := uniq[0]
	c := o.cand
	switch {
	case o.broken:
		return Understanding{Intent: Unclear, Reason: "names " + c.String() + " but it cannot be placed (day and date disagree, or an unknown zone)"}, true
	case o.slot > 0:
		if c.clause.question && !c.clause.propose && !c.clause.agree {
			return Understanding{Intent: Question, Reason: "asks about proposed slot " + fmt.Sprint(o.slot) + " (" + c.String() + ")"}, true
		}
		t := slots[o.slot-1]
		return Understanding{Intent: Agree, Time: &t, Slot: o.slot, Reason: fmt.Sprintf("picks proposed slot %d (%s)", o.slot, c.String())}, true
	case len(o.multi) > 0:
		return Understanding{Intent: Agree, Reason: fmt.Sprintf("%q matches %d of the proposed slots; pick one", c.String(), len(o.multi))}, true
	case o.at != nil:
		t := *o.at
		if c.clause.firm && !c.clause.question && !c.clause.propose {
			return Understanding{Intent: Agree, Time: &t, Reason: "accepts " + c.String() + ", which was not a proposed slot"}, true
		}
		return Understanding{Intent: ProposeTime, Time: &t, Reason: "proposes " + c.String()}, true
	}
	if c.clause.question && !c.clause.propose && c.day == nil {
		return Understanding{}, false
	}
	return Understanding{Intent: ProposeTime, Reason: "suggests " + c.String() + " without a definite start"}, true
}

// clauses cuts s at sentence ends (outside date and time mentions) and at
// contrast words, and marks each clause.
func (r *intentReader) clauses(s string, mask []bool) []clause {
	inMention := func(i int) bool { return mask[i] }
	var cuts []int // indexes where a new clause starts
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n', '!', '?', ';':
			cuts = append(cuts, i+1)
		case '.':
			if !inMention(i) && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\n') && !abbrevBefore(s, i) {
				cuts = append(cuts, i+1)
			}
		}
	}
	for _, loc := range r.clauseSplit.FindAllStringIndex(s, -1) {
		cuts = append(cuts, loc[0])
	}
	for _, loc := range r.consequence.FindAllStringSubmatchIndex(s, -1) {
		// After a comma "so" starts a clause; without one only when a day or time
		// follows ("I'm out Thursday so Friday works"), never in "not so sure".
		if strings.Contains(s[loc[2]:loc[3]], ",") || nextIsMention(s, loc[1], mask) {
			cuts = append(cuts, loc[4])
		}
	}
	sort.Ints(cuts)
	var out []clause
	prev := 0
	for _, cut := range append(cuts, len(s)) {
		if cut <= prev {
			continue
		}
		t := s[prev:cut]
		if strings.TrimSpace(t) != "" {
			out = append(out, clause{text: t, start: prev})
		}
		prev = cut
	}
	for i := range out {
		c := &out[i]
		t := strings.TrimSpace(c.text)
		c.question = strings.HasSuffix(t, "?") || r.questionStart.MatchString(t) && !strings.HasSuffix(t, ".") && !strings.HasSuffix(t, "!")
		masked := r.notNegative.ReplaceAllString(c.text, " ")
		c.negative = r.negative.MatchString(masked) && !(c.question && r.propose.MatchString(c.text) && !r.decline.MatchString(masked))
		c.hedged = r.hedge.MatchString(c.text)
		plain := r.agreeMask.ReplaceAllString(c.text, " ")
		wide := !isASCII(c.text) // the Japanese patterns need more than ASCII
		c.agree = (r.agree.MatchString(plain) || wide && r.jaAgree.MatchString(plain)) && !c.hedged && !r.thirdPerson.MatchString(plain)
		if wide && r.jaDecline.MatchString(c.text) {
			c.negative = true
		}
		c.firm = r.firm.MatchString(c.text)
		c.writing = r.inWriting.MatchString(c.text)
		c.propose = r.propose.MatchString(c.text)
	}
	return out
}

// introduces reports "meet Jane" in a clause; "meet for coffee", "meet up", "meet
// you" introduce no one.
func (r *intentReader) introduces(cs []clause) bool {
	for _, c := range cs {
		for _, m := range r.meetName.FindAllStringSubmatch(c.text, -1) {
			switch m[1] {
			case "up", "for", "with", "you", "me", "us", "them", "him", "her", "over", "in", "at", "on", "the", "a", "an",
				"then", "soon", "sometime", "some", "next", "this", "later", "virtually", "online", "and", "or", "to", "via", "by",
				"halfway", "there", "here", "again", "any", "whenever", "tomorrow", "today", "monday", "tuesday", "wednesday",
				"thursday", "friday", "saturday", "sunday", "briefly", "quickly", "downtown", "somewhere", "if", "when", "after", "before":
				continue
			}
			return true
		}
	}
	return false
}

// nextIsMention reports whether a date or time mention starts at i, or after one
// short preposition ("so on Friday", "so at 11").
func nextIsMention(s string, i int, mask []bool) bool {
	if i < len(mask) && mask[i] {
		return true
	}
	for _, p := range []string{"on ", "at ", "the ", "this ", "next "} {
		if strings.HasPrefix(s[i:], p) && i+len(p) < len(mask) && mask[i+len(p)] {
			return true
		}
	}
	return false
}

// abbrevBefore reports a dot that ends "a.m", "p.m", "dr", "mr", "no", "approx": not a sentence end.
func abbrevBefore(s string, i int) bool {
	for _, a := range []string{"a.m", "p.m", "dr", "mr", "mrs", "ms", "no", "nr", "approx", "etc", "e.g", "i.e", "vs", "st"} {
		if strings.HasSuffix(s[:i], a) {
			j := i - len(a)
			if j == 0 || !isLetter(s[j-1]) {
				return true
			}
		}
	}
	return false
}

// group pairs the day and clock mentions of one clause into candidates.
func group(ms []mention, c *clause) []candidate {
	var out []candidate
	var cur *candidate
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for i := range ms {
		m := ms[i]
		vague := m.period || m.bound != "" && m.bound != "on" && m.bound != "the"
		if m.period && !m.clock && m.day == dayNone {
			flush()
			out = append(out, candidate{day: &m, clause: c, vague: true})
			continue
		}
		if m.clock {
			if cur != nil && cur.clk == nil {
				cur.clk = &m
				cur.vague = cur.vague || vague
				cur.broken = cur.broken || m.zoneBad
				continue
			}
			var prevDay *mention
			if cur != nil {
				prevDay = cur.day // "Tuesday at 2 or 3": both on Tuesday
			}
			flush()
			cur = &candidate{day: prevDay, clk: &m, clause: c, vague: vague, broken: m.zoneBad}
			continue
		}
		// a day
		if cur != nil && cur.day == nil {
			cur.day = &m
			cur.vague = cur.vague || vague
			continue
		}
		if cur != nil && cur.day != nil && cur.clk == nil && adjacentDays(*cur.day, m) {
			// "Tuesday, Dec 2": one day written twice; they must agree.
			merged := mergeDays(*cur.day, m)
			if merged == nil {
				cur.broken = true
			} else {
				cur.day = merged
			}
			continue
		}
		flush()
		cur = &candidate{day: &m, clause: c, vague: vague}
	}
	flush()
	return out
}

func adjacentDays(a, b mention) bool {
	return b.start-a.end <= 3 && (a.day == dayWeekday) != (b.day == dayWeekday)
}

// mergeDays joins a weekday and a date naming the same day; nil when they disagree.
func mergeDays(a, b mention) *mention {
	wd, dt := a, b
	if b.day == dayWeekday {
		wd, dt = b, a
	}
	if dt.day != dayDate {
		return &dt
	}
	y := dt.year
	if y == 0 {
		return &mention{start: min(a.start, b.start), end: max(a.end, b.end), day: dayDate, month: dt.month, mday: dt.mday, weekday: wd.weekday, what: a.what + " " + b.what, this: true, rel: -1, part: max(a.part, b.part)}
	}
	if time.Date(y, time.Month(dt.month), dt.mday, 0, 0, 0, 0, time.UTC).Weekday() != wd.weekday {
		return nil
	}
	return &dt
}

// dayOf gives the day of a candidate; the weekday of a merged "Tuesday, Dec 2"
// must agree with the date once the year is known.
func dayOf(c candidate, date time.Time, loc *time.Location) (time.Time, bool) {
	if c.day == nil {
		return time.Time{}, false
	}
	d, ok := resolveDay(*c.day, date, loc)
	if !ok {
		return d, false
	}
	if c.day.rel == -1 && c.day.day == dayDate && d.Weekday() != c.day.weekday {
		return d, false
	}
	return d, true
}

// fits reports whether candidate c describes start t.
func fits(c candidate, t time.Time, date time.Time, loc *time.Location) bool {
	z := loc
	if c.clk != nil {
		var ok bool
		if z, ok = zoneOf(*c.clk, loc); !ok {
			return false
		}
	}
	tt := t.In(z)
	if c.day != nil {
		switch c.day.day {
		case dayWeekday:
			if tt.Weekday() != c.day.weekday {
				return false
			}
			// A weekday names the coming one; a slot weeks away is another day.
			d, _ := resolveDay(*c.day, date, loc)
			if c.day.this {
				if y, m, dd := tt.Date(); time.Date(y, m, dd, 0, 0, 0, 0, loc).After(d.AddDate(0, 0, 6)) {
					return false
				}
			}
		case dayDate:
			if tt.Month() != time.Month(c.day.month) || tt.Day() != c.day.mday || c.day.year != 0 && tt.Year() != c.day.year {
				return false
			}
			if c.day.rel == -1 && tt.Weekday() != c.day.weekday {
				return false
			}
		case dayOfMonth:
			if tt.Day() != c.day.mday {
				return false
			}
		case dayRel:
			d, _ := resolveDay(*c.day, date, loc)
			y, m, dd := tt.Date()
			if !time.Date(y, m, dd, 0, 0, 0, 0, loc).Equal(d) && !(d.Year() == y && d.Month() == m && d.Day() == dd) {
				return false
			}
		}
	}
	if c.day != nil && !inPart(tt.Hour(), c.day.part) {
		return false // "Thursday morning" is not the 2pm slot
	}
	if c.clk != nil {
		h := tt.Hour()
		if c.clk.meridiem || c.clk.hour >= 13 {
			if h != c.clk.hour {
				return false
			}
		} else if h%12 != c.clk.hour%12 {
			return false
		}
		if tt.Minute() != c.clk.min {
			return false
		}
	}
	return c.day != nil || c.clk != nil
}

// matchSlots gives the 1-based indexes of the slots candidate c describes.
func matchSlots(c candidate, date time.Time, loc *time.Location, slots []time.Time) []int {
	var out []int
	for i, s := range slots {
		if fits(c, s, date, loc) {
			out = append(out, i+1)
		}
	}
	// An hour without am/pm that matches two slots (9am and 9pm) takes the meeting reading.
	if len(out) > 1 && c.clk != nil && !c.clk.meridiem {
		var narrowed []int
		for _, i := range out {
			z, _ := zoneOf(*c.clk, loc)
			if slots[i-1].In(z).Hour() == meetingHour(*c.clk) {
				narrowed = append(narrowed, i)
			}
		}
		if len(narrowed) > 0 {
			out = narrowed
		}
	}
	return out
}

// resolve gives the definite start a candidate names: a day and a clock.
func resolve(c candidate, date time.Time, loc *time.Location) (time.Time, bool) {
	if c.day == nil || c.clk == nil || c.vague || c.broken {
		return time.Time{}, false
	}
	z, ok := zoneOf(*c.clk, loc)
	if !ok {
		return time.Time{}, false
	}
	// The day is read in the zone the time is written in: "tomorrow at 10 CET".
	day, ok := dayOf(c, date, z)
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(day.Year(), day.Month(), day.Day(), meetingHour(*c.clk), c.clk.min, 0, 0, z)
	if t.Hour() != meetingHour(*c.clk) {
		return time.Time{}, false // a time skipped by a DST change
	}
	if !t.After(date) {
		return time.Time{}, false // a start in the past is not a meeting time
	}
	return t, true
}

// slotNumbers finds slot picks by number in a clause ("the second one", "option 2").
func (r *intentReader) slotNumbers(c *clause, mask []bool, n int) []int {
	if n == 0 {
		return nil
	}
	var out []int
	inMention := func(i int) bool { return mask[i] }
	for _, loc := range r.ordinal.FindAllStringSubmatchIndex(c.text, -1) {
		sub := func(i int) string {
			if loc[2*i] < 0 {
				return ""
			}
			return c.text[loc[2*i]:loc[2*i+1]]
		}
		article, w, noun := sub(1), sub(2), sub(3)
		if inMention(c.start + loc[4]) {
			continue // "Dec 2nd"
		}
		after := strings.TrimLeft(c.text[loc[1]:], " ")
		if noun == "" {
			// "the first of December", "the first week": not a slot.
			if strings.HasPrefix(after, "of") || strings.HasPrefix(after, "week") || strings.HasPrefix(after, "thing") ||
				strings.HasPrefix(after, "half") || strings.HasPrefix(after, "day") {
				continue
			}
			// A bare ordinal needs its article or digits: "the second", "2nd works";
			// "send me your resume first" is no pick.
			if article == "" && !strings.ContainsAny(w, "0123456789") {
				continue
			}
		}
		k := ordinalValue(w, n)
		if k >= 1 && k <= n {
			out = append(out, k)
		}
	}
	for _, loc := range r.numbered.FindAllStringSubmatchIndex(c.text, -1) {
		if inMention(c.start + loc[2]) {
			continue
		}
		out = append(out, atoi(c.text[loc[2]:loc[3]])) // out of range: the caller says so

	}
	return out
}

func ordinalValue(w string, n int) int {
	switch w {
	case "first", "1st", "erste", "ersten", "premier", "première", "primera", "primero":
		return 1
	case "second", "2nd", "zweite", "zweiten", "deuxième", "seconde", "segunda", "segundo":
		return 2
	case "third", "3rd", "dritte", "dritten", "troisième", "tercera", "tercero":
		return 3
	case "fourth", "4th":
		return 4
	case "fifth", "5th":
		return 5
	case "last":
		return n
	}
	return 0
}

func mentionsSpecificDay(cs []candidate) bool {
	for _, c := range cs {
		if c.day != nil && !c.vague && !c.day.period || c.clk != nil && !c.vague {
			return true
		}
	}
	return false
}

// hasNegativeAfterPositive: "I'd love to, but I can't": the later clause decides.
func hasNegativeAfterPositive(cs []clause) bool {
	seenPos := false
	for _, c := range cs {
		if c.agree && !c.negative {
			seenPos = true
		}
		if c.negative && seenPos {
			return true
		}
	}
	return false
}

func quoteList(cs []candidate) string {
	var parts []string
	for i, c := range cs {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%q", c.String()))
	}
	return strings.Join(parts, ", ")
}

func uniqueInts(xs []int) []int {
	var out []int
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
