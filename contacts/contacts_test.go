package contacts

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, name string) ([]Record, []*RowError) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Detect(name, data)
	if err != nil {
		t.Fatalf("Detect(%s): %v", name, err)
	}
	recs, bad, err := Parse(bytes.NewReader(data), f)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", name, f, err)
	}
	return recs, bad
}

func checkRecords(t *testing.T, got []Record, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d:\n%s", len(got), len(want), dump(got))
		return
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d =\n  %#v\nwant\n  %#v", i, got[i], want[i])
		}
	}
}

func dump(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "  %#v\n", r)
	}
	return b.String()
}

func checkBad(t *testing.T, bad []*RowError, want map[int]string) {
	t.Helper()
	if len(bad) != len(want) {
		t.Errorf("got %d row errors %v, want %d", len(bad), bad, len(want))
	}
	for _, e := range bad {
		sub, ok := want[e.Line]
		if !ok || !strings.Contains(e.Error(), sub) || !strings.HasPrefix(e.Error(), fmt.Sprintf("line %d: ", e.Line)) {
			t.Errorf("unexpected row error %q (want line→substring %v)", e, want)
		}
	}
}

func TestLinkedIn(t *testing.T) {
	recs, bad := parseFile(t, "linkedin_Connections.csv")
	checkRecords(t, recs, []Record{
		{Line: 5, Name: "Jane Doe", Emails: []string{"jane.doe@example.com"}, Org: "Acme Sports Marketing, Inc.", Role: "Brand Manager", URL: "https://www.linkedin.com/in/janedoe"},
		{Line: 6, Name: "Marcus Lee", Org: "Northwind Traders", Role: "Senior Analyst", URL: "https://www.linkedin.com/in/marcus-lee-4a1b2c"},
		{Line: 7, Name: "Zoë Müller-Świątek", Org: "Universität Zürich", Role: "Doktorandin", URL: "https://www.linkedin.com/in/zoe-mueller"},
		{Line: 8, Name: "Priya Raman", Emails: []string{"priya@raman.dev"}, Org: "Hooli", Role: "VP, Engineering", URL: "https://www.linkedin.com/in/priyaraman"},
	})
	checkBad(t, bad, map[int]string{
		9:  `bad email "tom(at)oneil.example"`,
		10: "no name and no email",
	})
}

func TestGoogle(t *testing.T) {
	recs, bad := parseFile(t, "google_contacts.csv")
	checkRecords(t, recs, []Record{
		{Line: 2, Name: "Linda Park", Emails: []string{"lpark@riverside.k12.example.us", "linda.park@gmail.com"},
			Org: "Riverside High School", Role: "Soccer Coach", Note: "Coached me 2019-2022.\nKnows the Galaxy front office.", Tags: []string{"Coaches"}},
		{Line: 4, Name: "Ahmed K. Hassan", Emails: []string{"ahassan@stanford.example.edu", "ahmed.hassan@gmail.com"},
			Org: "Stanford University", Role: "Professor of Economics", Tags: []string{"starred", "Professors"}, URL: "https://econ.stanford.example.edu/hassan"},
		{Line: 5, Emails: []string{"noname@example.org"}},
	})
	checkBad(t, bad, map[int]string{6: `bad email "bad@@example.org"`})
}

func TestGoogleOldUTF16(t *testing.T) {
	recs, bad := parseFile(t, "google_old.csv")
	checkRecords(t, recs, []Record{
		{Line: 2, Name: "Aunt Carol", Emails: []string{"carol.nguyen@example.net"}, Org: "Kaiser Permanente", Role: "Nurse Practitioner",
			Note: "Mom's sister", Tags: []string{"My Contacts", "Family"}},
		{Line: 3, Name: "Rob Fields", Emails: []string{"rob@fields.example", "rob.fields@work.example"}, Org: "Fields & Co", Role: "Owner",
			Tags: []string{"My Contacts"}, URL: "https://robfields.example"},
	})
	checkBad(t, bad, nil)
}

func TestVCard3(t *testing.T) {
	recs, bad := parseFile(t, "contacts_v3.vcf")
	checkRecords(t, recs, []Record{
		{Line: 1, Name: "Chidi Okafor", Emails: []string{"chidi@brightpath.example", "chidi.okafor@icloud.example"},
			Org: "Bright Path Consulting", Role: "Principal", Note: "Met at the alumni mixer, Oct 2024. Former college roommate of Dad's colleague.",
			Tags: []string{"Alumni", "Consulting"}, URL: "https://brightpath.example/team/chidi"},
		{Line: 19, Name: "Sofía García Márquez", Emails: []string{"sofia.garcia@example.org", "sofia@garcia.example"}, Org: "Museo de Arte", Role: "Curadora"},
	})
	checkBad(t, bad, map[int]string{27: "line break"})
}

func TestVCard21(t *testing.T) {
	recs, bad := parseFile(t, "contacts_v21.vcf")
	checkRecords(t, recs, []Record{
		{Line: 1, Name: "Jörg Brückner", Emails: []string{"joerg@brueckner.example", "j.brueckner@firma.example"},
			Org: "Müller & Söhne GmbH", Role: "Geschäftsführer", Note: "Kennt viele Leute im Sportmarketing.\nAm besten vormittags anrufen."},
	})
	checkBad(t, bad, map[int]string{13: `bad email "not-an-email"`})
}

func TestVCard4(t *testing.T) {
	recs, bad := parseFile(t, "contacts_v4.vcf")
	checkRecords(t, recs, []Record{
		{Line: 1, Name: "Kim Tanaka", Emails: []string{"kim@tanaka.example", "kim.tanaka@studio.example"},
			Org: "Pixel Forge Studios", Role: "Art Director", Note: "Prefers video calls.", Tags: []string{"Design", "Games"}},
	})
	checkBad(t, bad, map[int]string{12: "no END:VCARD"})
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		head string
		want Format
	}{
		{"Connections.csv", "Notes:\n\"When exporting...\"\n\nFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\n", LinkedIn},
		{"export.csv", "\ufeffFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\n", LinkedIn},
		{"contacts.csv", "First Name,Middle Name,Last Name,Phonetic First Name,Organization Name,Labels,E-mail 1 - Label,E-mail 1 - Value\n", Google},
		{"google.csv", "Name,Given Name,Additional Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value\n", Google},
		{"x.txt", "\r\nbegin:vcard\r\nVERSION:3.0\r\n", VCard},
		{"people.VCF", "", VCard},
		{"Connections.csv", "", LinkedIn},
	}
	for _, tt := range tests {
		if got, err := Detect(tt.name, []byte(tt.head)); err != nil || got != tt.want {
			t.Errorf("Detect(%q, %q) = %q, %v, want %q", tt.name, tt.head, got, err, tt.want)
		}
	}
	if got, err := Detect("notes.txt", []byte("hello,world\n")); err == nil {
		t.Errorf("Detect(notes.txt) = %q, want an error", got)
	}
}

func TestWholeFileErrors(t *testing.T) {
	for _, tt := range []struct {
		f    Format
		body string
	}{
		{LinkedIn, "Name,Email\nJane,jane@example.com\n"},
		{Google, "Foo,Bar\n1,2\n"},
		{VCard, "this is not a vcard\n"},
		{Format("outlook"), "First Name\n"},
	} {
		if _, _, err := Parse(strings.NewReader(tt.body), tt.f); err == nil {
			t.Errorf("Parse(%q, %s) = nil error, want one for the whole file", tt.body, tt.f)
		}
	}
}

func TestNameLineBreakIsRowError(t *testing.T) {
	body := "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" +
		"\"Eve\nBcc: victim@example.com\",X,,eve@example.com,,,\n" +
		"Ok,Person,,ok@example.com,\"Line\nBreak Corp\",,\n"
	recs, bad, err := Parse(strings.NewReader(body), LinkedIn)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Error(), "line break") {
		t.Errorf("bad = %v, want one line-break error on line 2", bad)
	}
	if len(recs) != 1 || recs[0].Org != "Line Break Corp" || recs[0].Line != 4 {
		t.Errorf("recs = %#v, want Ok Person on line 4 with the org on one line", recs)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"linkedin": LinkedIn, "Google": Google, "vcf": VCard, " vcard ": VCard} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("outlook"); err == nil {
		t.Errorf("ParseFormat(outlook) = nil error")
	}
}
