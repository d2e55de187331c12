package outreach

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/store"
)

func benchOutreach(b testing.TB) *Outreach {
	b.Helper()
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	tm, err := LoadTemplates("")
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.Account.Name, cfg.Account.Email = "Sam Rivera", "sam@example.com"
	return New(db, cfg, tm, nil)
}

// linkedInExport writes a Connections.csv of n rows, a third without email,
// as LinkedIn does.
func linkedInExport(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("Notes:\n\"When exporting your connection data, you may notice that some of the email addresses are missing.\"\n\n")
	buf.WriteString("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n")
	for i := 0; i < n; i++ {
		email := fmt.Sprintf("person%d@example%d.com", i, i%50)
		if i%3 == 0 {
			email = ""
		}
		fmt.Fprintf(&buf, "First%d,Last%d,https://www.linkedin.com/in/p%d,%s,\"Company %d, Inc.\",Role %d,12 Mar 2024\n", i, i, i, email, i%300, i%40)
	}
	return buf.Bytes()
}

// BenchmarkImportLinkedIn10k: target under 2 s per import into an empty database.
func BenchmarkImportLinkedIn10k(b *testing.B) {
	data := linkedInExport(10000)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		o := benchOutreach(b)
		b.StartTimer()
		start := time.Now()
		res, err := o.Import(ctx, bytes.NewReader(data), "Connections.csv", ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Added) != 10000 {
			b.Fatalf("added %d, want 10000", len(res.Added))
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/import")
	}
}

// BenchmarkQueue10k: target under 100 ms to list a queue of 10,000 drafts.
func BenchmarkQueue10k(b *testing.B) {
	o := benchOutreach(b)
	ctx := context.Background()
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		c := &store.Contact{Name: "Jane Doe", Emails: []string{"jane@example.com"}}
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		for i := 0; i < 10000; i++ {
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgDraft,
				MessageID: fmt.Sprintf("cc.%d@example.com", i), From: "Sam Rivera <sam@example.com>", To: "Jane Doe <jane@example.com>",
				Subject: "Could I ask you for 20 minutes of advice?", Body: strings.Repeat("A fairly ordinary draft body line.\n", 20)}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q, err := o.Queue(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(q) != 10000 {
			b.Fatalf("queue has %d items", len(q))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/queue")
}

// BenchmarkNextFollowup10k: `status` asks for the next follow-up among
// 10,000 waiting asks, each with its request sent.
func BenchmarkNextFollowup10k(b *testing.B) { benchNextFollowup(b, 0) }

// BenchmarkNextFollowupPending10k: the same after a pass drafted follow-ups
// for the 9,000 oldest, none approved yet.
func BenchmarkNextFollowupPending10k(b *testing.B) { benchNextFollowup(b, 9000) }

// benchNextFollowup times NextFollowup among 10,000 waiting asks, the
// pending oldest of them with a follow-up draft.
func benchNextFollowup(b *testing.B, pending int) {
	o := benchOutreach(b)
	ctx := context.Background()
	sent := time.Now().Add(-48 * time.Hour)
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		for i := 0; i < 10000; i++ {
			c := &store.Contact{Name: fmt.Sprintf("Person %d", i), Emails: []string{fmt.Sprintf("p%d@example.com", i)}}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID, State: store.AskWaiting, LastSentAt: sent.Add(time.Duration(i) * time.Second)}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgSent,
				MessageID: fmt.Sprintf("cc.%d@example.com", i), From: "Sam Rivera <sam@example.com>", To: c.Email(),
				Subject: "Could I ask you for 20 minutes of advice?", SentAt: sent.Add(time.Duration(i) * time.Second)}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
			if i < pending {
				f := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeFollowup, State: store.MsgDraft,
					MessageID: fmt.Sprintf("cc.f%d@example.com", i), From: "Sam Rivera <sam@example.com>", To: c.Email(),
					Subject: "Re: Could I ask you for 20 minutes of advice?"}
				if err := tx.InsertMessage(ctx, f); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	want := int64(pending + 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at, id, _, err := o.NextFollowup(ctx)
		if err != nil || at.IsZero() || id != want {
			b.Fatalf("NextFollowup = %v ask %d, %v; want ask %d", at, id, err, want)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}
