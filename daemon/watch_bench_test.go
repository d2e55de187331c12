package daemon

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

// TestBenchInbox prints the inbox figures against the real Dovecot. It runs
// only from scripts/bench-inbox (COFFEECHAT_BENCH_INBOX=1), never in the
// normal suite.
func TestBenchInbox(t *testing.T) {
	if os.Getenv("COFFEECHAT_BENCH_INBOX") == "" {
		t.Skip("a benchmark: run scripts/bench-inbox")
	}
	r := sandbox.RigFromEnv(t)
	if r.MailDir == "" {
		t.Fatal("COFFEECHAT_RIG_MAILDIR unset")
	}
	total, replies, live := 100000, 1000, 200
	if v, _ := strconv.Atoi(os.Getenv("COFFEECHAT_BENCH_MESSAGES")); v > 0 {
		total = v
	}
	if v, err := strconv.Atoi(os.Getenv("COFFEECHAT_BENCH_LIVE")); err == nil && v > 0 {
		live = v
	}
	account := r.User(t, "bench")
	local, _, _ := strings.Cut(account, "@")

	// 1. The mailbox, written straight into the Maildir.
	home := filepath.Join(r.MailDir, r.Domain, local)
	t.Cleanup(func() { os.RemoveAll(home) })
	t0 := time.Now()
	if err := writeMaildir(filepath.Join(home, "Maildir"), account, r.Domain, total, replies); err != nil {
		t.Fatal(err)
	}
	genTime := time.Since(t0)
	cfg := imapCfg(t, r.IMAPS, account, r.Password, config.TLSImplicit)
	cfg.CAFile, cfg.Host, cfg.Timeout = r.CAFile, "localhost", "120s"
	ctx := context.Background()
	// Index it (Dovecot reads new/ at the first SELECT); not timed.
	t0 = time.Now()
	if _, err := rawFetchAll(t, r, account); err != nil {
		t.Fatal(err)
	}
	indexTime := time.Since(t0)

	// The floor (one bare UID FETCH 1:* of the header fields, no library)
	// and the catch-up (a first run with 1,000 open asks, on a database of
	// its own each time: match and classify them all), in turns, three
	// times: the figure compares the medians, as both vary by ±25% from
	// one run to the next on a shared machine.
	var wlog *slog.Logger
	if os.Getenv("COFFEECHAT_BENCH_DEBUG") != "" {
		wlog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	const rounds = 3
	var floors, catchUps []time.Duration
	var e *watchEnv
	n, rss, got := 0, 0, 0
	for round := range rounds {
		t0 = time.Now()
		var err error
		if n, err = rawFetchAll(t, r, account); err != nil {
			t.Fatal(err)
		}
		floors = append(floors, time.Since(t0))

		e = newWatchEnvDomain(t, replies+live, account, r.Domain)
		resetPeak()
		w := inbox.NewWatcher(cfg, e.o.InboxSink(), wlog, inbox.WatchOptions{})
		if p := os.Getenv("COFFEECHAT_BENCH_CPUPROFILE"); p != "" && round == rounds-1 {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				t.Fatal(err)
			}
			defer f.Close()
		}
		t0 = time.Now()
		if err := w.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		catchUps = append(catchUps, time.Since(t0))
		pprof.StopCPUProfile()
		rss = max(rss, peakRSS())
		got = 0
		for i := 1; i <= replies; i++ {
			if e.state(i) == store.AskDeclined {
				got++
			}
		}
		if got != replies {
			t.Errorf("round %d: %d/%d replies applied", round+1, got, replies)
		}
	}
	floor, catchUp := median(floors), median(catchUps)

	// 2. A restart with nothing new.
	t0 = time.Now()
	if err := inbox.NewWatcher(cfg, e.o.InboxSink(), nil, inbox.WatchOptions{}).SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	restart := time.Since(t0)

	// 3. Delivery (through Postfix) to the ask's new state, while IDLE.
	wl := &Watch{O: e.o, IMAP: cfg}
	wl.Opt.PollInterval = time.Hour
	stop := startWatch(t, wl)
	var lat []time.Duration
	for i := replies + 1; i <= replies+live; i++ {
		t0 := time.Now()
		mxDeliver(t, r, account, declineFromDomain(i, account, r.Domain))
		for e.state(i) != store.AskDeclined {
			if time.Since(t0) > 30*time.Second {
				t.Fatalf("reply %d not applied in 30 s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }

	fmt.Printf("bench-inbox: mailbox %d messages (%d replies), written in %v, indexed by Dovecot in %v\n", total, replies, genTime.Round(time.Millisecond), indexTime.Round(time.Millisecond))
	fmt.Printf("(1) floor: bare UID FETCH 1:* header fields: median %v of %v (%d responses)\n", floor.Round(time.Millisecond), roundAll(floors), n)
	fmt.Printf("(1) catch-up (narrowed SEARCH, fetch, match, classify, store): median %v of %v = %.2f× the floor (per round %s); %d/%d replies applied; peak RSS %.1f MB\n",
		catchUp.Round(time.Millisecond), roundAll(catchUps), catchUp.Seconds()/floor.Seconds(), ratios(catchUps, floors), got, replies, float64(rss)/1024)
	fmt.Printf("(2) restart with nothing new: %v to caught-up\n", restart.Round(time.Millisecond))
	fmt.Printf("(3) delivery → ask state over %d replies while IDLE: p50 %v, p99 %v, max %v\n", len(lat),
		pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}

// median is the middle of ds (the upper one of an even count).
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// ratios prints a[i]/b[i] for each round.
func ratios(a, b []time.Duration) string {
	var out []string
	for i := range a {
		out = append(out, fmt.Sprintf("%.2f×", a[i].Seconds()/b[i].Seconds()))
	}
	return strings.Join(out, " ")
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// newWatchEnvDomain is newWatchEnv with our Message-IDs in domain.
func newWatchEnvDomain(t *testing.T, n int, account, domain string) *watchEnv {
	e := newWatchEnv(t, n, account)
	ctx := context.Background()
	err := e.o.DB.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			ms, err := tx.Messages(ctx, store.MessageFilter{AskID: e.asks[i], Direction: store.Out})
			if err != nil {
				return err
			}
			ms[0].MessageID = fmt.Sprintf("ask-%d@%s", i+1, domain)
			if err := tx.SaveMessage(ctx, ms[0]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func declineFromDomain(i int, account, domain string) []byte {
	return []byte(strings.ReplaceAll(string(declineFrom(i, account)), "@example.com>", "@"+domain+">"))
}

// writeMaildir writes total messages into dir/new, every (total/replies)th
// one a reply to ask i, the rest newsletters, owned by the mail user.
func writeMaildir(dir, account, domain string, total, replies int) error {
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	uid, gid := -1, -1
	if u, err := user.Lookup("nobody"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
	}
	if g, err := user.LookupGroup("nogroup"); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	every := total / replies
	base := time.Now().Add(-2 * time.Hour)
	next := 1
	for k := range total {
		var raw []byte
		if k%every == every-1 && next <= replies {
			raw = declineFromDomain(next, account, domain)
			next++
		} else {
			raw = noise(k, account)
		}
		name := filepath.Join(dir, "new", fmt.Sprintf("%d.M%dP1.bench,S=%d", base.Unix(), k, len(raw)))
		if err := os.WriteFile(name, raw, 0o600); err != nil {
			return err
		}
		if uid >= 0 {
			os.Chown(name, uid, gid)
		}
	}
	for _, p := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "new"), filepath.Join(dir, "cur"), filepath.Join(dir, "tmp")} {
		if uid >= 0 {
			os.Chown(p, uid, gid)
		}
	}
	return nil
}

// rawFetchAll logs in over IMAPS with no library and runs one UID FETCH 1:*
// of inbox.HeaderFields, reading every response; it returns their count.
func rawFetchAll(t testing.TB, r *sandbox.Rig, account string) (int, error) {
	pool := r.CAPool(t)
	conn, err := tls.Dial("tcp", r.IMAPS, &tls.Config{ServerName: "localhost", RootCAs: pool})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 1<<16)
	if _, err := br.ReadString('\n'); err != nil {
		return 0, err
	}
	cmd := func(tag, line string) (int, error) {
		if _, err := fmt.Fprintf(conn, "%s %s\r\n", tag, line); err != nil {
			return 0, err
		}
		n := 0
		for {
			l, err := br.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				return n, err
			}
			if len(l) > 2 && l[0] == '*' && strings.Contains(string(l), " FETCH ") {
				n++
			}
			if strings.HasPrefix(string(l), tag+" ") {
				if !strings.HasPrefix(string(l), tag+" OK") {
					return n, fmt.Errorf("%s: %s", line, l)
				}
				return n, nil
			}
		}
	}
	if _, err := cmd("a", fmt.Sprintf("LOGIN %q %q", account, r.Password)); err != nil {
		return 0, err
	}
	if _, err := cmd("b", "EXAMINE INBOX"); err != nil {
		return 0, err
	}
	n, err := cmd("c", "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS ("+strings.Join(inbox.HeaderFields, " ")+")])")
	cmd("d", "LOGOUT")
	return n, err
}

// resetPeak resets the process's peak RSS (Linux: clear_refs 5).
func resetPeak() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in kB.
func peakRSS() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}
