package contacts

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// genLinkedIn writes a LinkedIn export of n rows, about a third without email.
func genLinkedIn(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeffNotes:\r\n\"When exporting your connection data, you may notice that some of the email addresses are missing.\"\r\n\r\n")
	b.WriteString("First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n")
	for i := 0; i < n; i++ {
		email := ""
		if i%3 != 0 {
			email = fmt.Sprintf("Person.%d@Example%d.com", i, i%97)
		}
		fmt.Fprintf(&b, "Person%d,Lastname%d,https://www.linkedin.com/in/person-%d,%s,\"Company %d, Inc.\",Senior Analyst,%02d Mar 2024\r\n",
			i, i, i, email, i%500, i%28+1)
	}
	return b.Bytes()
}

func BenchmarkParseLinkedIn10k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "Connections.csv")
	if err := os.WriteFile(path, genLinkedIn(10000), 0o600); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		recs, bad, err := Parse(bytes.NewReader(data), LinkedIn)
		if err != nil || len(bad) != 0 || len(recs) != 10000 {
			b.Fatalf("Parse = %d records, %d bad, %v", len(recs), len(bad), err)
		}
		rows += len(recs)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"linkedin_Connections.csv", "google_contacts.csv", "contacts_v3.vcf", "contacts_v21.vcf", "contacts_v4.vcf"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:=\nEND:VCARD\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{LinkedIn, Google, VCard} {
			recs, bad, err := Parse(bytes.NewReader(data), format)
			if err != nil {
				continue
			}
			for _, r := range recs {
				if hasLineBreak(r.Name) || hasLineBreak(r.Org) || hasLineBreak(r.Role) || hasLineBreak(r.URL) {
					t.Fatalf("%s: record with a line break: %#v", format, r)
				}
				if r.Name == "" && len(r.Emails) == 0 {
					t.Fatalf("%s: record with neither name nor email: %#v", format, r)
				}
				for _, e := range r.Emails {
					if got, err := cleanEmail(e); err != nil || got != e {
						t.Fatalf("%s: email %q does not re-validate: %q, %v", format, e, got, err)
					}
				}
				for _, tag := range r.Tags {
					if tag == "" || hasLineBreak(tag) {
						t.Fatalf("%s: bad tag %q", format, tag)
					}
				}
			}
			for _, e := range bad {
				if e.Line < 1 || e.Err == nil {
					t.Fatalf("%s: row error without a line: %v", format, e)
				}
			}
		}
		_, _ = Detect("x", data)
	})
}
