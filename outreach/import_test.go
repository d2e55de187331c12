package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A row the parser reads but that fails the header checks (an encoded line
// break in a name, a comma in a Google label) is a bad row like any other:
// without --skip-bad nothing is imported; with it, the others are.
func TestImportRefusesRowsThatFailValidation(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{
		"Connections.csv": "Notes:\n\"x\"\n\nFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\n" +
			"Ana,Lima,,ana@example.org,Acme,PM,1 Jan 2024\n" +
			"=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?=,X,,eve@example.org,Acme,PM,1 Jan 2024\n" +
			"Bo,Li,,bo@example.org,Acme,PM,1 Jan 2024\n",
		"contacts.csv": "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,Group Membership\n" +
			"Ana Lima,Ana,Lima,* Home,ana@example.org,* myContacts\n" +
			"Eve X,Eve,X,* Home,eve@example.org,\"Friends, old ::: * myContacts\"\n" +
			"Bo Li,Bo,Li,* Home,bo@example.org,* myContacts\n",
	}
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			o := benchOutreach(t)
			_, err := o.Import(ctx, strings.NewReader(text), name, ImportOptions{})
			var bad *BadRowsError
			if !errors.As(err, &bad) || len(bad.Rows) != 1 || bad.Rows[0].Line < 2 || !strings.Contains(err.Error(), "nothing was imported") {
				t.Fatalf("Import(%s) = %v, want a BadRowsError naming one row", name, err)
			}
			if cs, _ := o.Contacts(ctx, ""); len(cs) != 0 {
				t.Fatalf("Import(%s) failed but stored %d contacts", name, len(cs))
			}
			res, err := o.Import(ctx, strings.NewReader(text), name, ImportOptions{SkipBad: true})
			if err != nil || len(res.Added) != 2 || len(res.Bad) != 1 {
				t.Fatalf("Import(%s, skip bad) = %+v, %v; want 2 added, 1 bad", name, res, err)
			}
			if b, _ := json.Marshal(res); !strings.Contains(string(b), `"bad":[{"line":`) {
				t.Errorf("import JSON lacks the bad rows: %s", b)
			}
		})
	}
}
