package contacts

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// table is a CSV file from its header row on, with columns looked up by name.
type table struct {
	r    *csv.Reader
	cols map[string]int // lower-cased header → index
	hdr  []string
}

// newTable reads records until isHeader accepts one (LinkedIn puts a "Notes:"
// preamble first), at most 20 records in.
func newTable(text string, isHeader func([]string) bool) (*table, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	for i := 0; i < 20; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue
			}
			return nil, err
		}
		for j := range rec {
			rec[j] = strings.TrimSpace(rec[j])
		}
		if isHeader(rec) {
			t := &table{r: r, cols: map[string]int{}, hdr: rec}
			for j, h := range rec {
				k := strings.ToLower(h)
				if _, dup := t.cols[k]; !dup {
					t.cols[k] = j
				}
			}
			return t, nil
		}
	}
	return nil, errors.New("no header row found")
}

func hasCols(rec []string, names ...string) bool {
	for _, n := range names {
		found := false
		for _, h := range rec {
			if strings.EqualFold(h, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// rows calls fn for every data row with its line number and a getter by column.
func (t *table) rows(fn func(line int, get func(col string) string, row []string)) error {
	for {
		row, err := t.r.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := t.r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && row == nil {
				return fmt.Errorf("line %d: %w", pe.StartLine, err)
			}
		}
		get := func(col string) string {
			if i, ok := t.cols[col]; ok && i < len(row) {
				return row[i]
			}
			return ""
		}
		fn(line, get, row)
	}
}

// parseLinkedIn reads Connections.csv: "First Name,Last Name,URL,Email
// Address,Company,Position,Connected On" after a few "Notes:" lines.
func parseLinkedIn(text string) ([]Record, []*RowError, error) {
	t, err := newTable(text, func(rec []string) bool {
		return hasCols(rec, "First Name", "Last Name")
	})
	if err != nil {
		return nil, nil, fmt.Errorf("linkedin: %w (want a header \"First Name,Last Name,URL,Email Address,...\")", err)
	}
	var recs []Record
	var bad []*RowError
	err = t.rows(func(line int, get func(string) string, _ []string) {
		b := builder{rec: Record{Line: line}}
		b.name(get("first name"), get("last name"))
		b.email(get("email address"))
		b.rec.Org = oneLine(get("company"))
		b.rec.Role = oneLine(get("position"))
		b.rec.URL = oneLine(get("url"))
		b.add(&recs, &bad)
	})
	if err != nil {
		return recs, bad, fmt.Errorf("linkedin: %w", err)
	}
	return recs, bad, nil
}

var googleEmailCol = regexp.MustCompile(`^e-mail \d+ - value$`)

// parseGoogle reads both Google Contacts CSV exports: the current one ("First
// Name,Middle Name,Last Name,...,Labels,E-mail 1 - Value,...") and the older one
// ("Name,Given Name,...,Group Membership,E-mail 1 - Value,..."). A cell may hold
// several values joined by " ::: ".
func parseGoogle(text string) ([]Record, []*RowError, error) {
	t, err := newTable(text, func(rec []string) bool {
		return hasCols(rec, "E-mail 1 - Value") || hasCols(rec, "First Name", "Last Name", "Labels") ||
			hasCols(rec, "Name", "Given Name", "Family Name")
	})
	if err != nil {
		return nil, nil, fmt.Errorf("google: %w (want a Google Contacts CSV export)", err)
	}
	var emailCols []int
	for i, h := range t.hdr {
		if googleEmailCol.MatchString(strings.ToLower(h)) {
			emailCols = append(emailCols, i)
		}
	}
	first := func(get func(string) string, cols ...string) string {
		for _, c := range cols {
			if vs := splitMulti(get(c)); len(vs) > 0 {
				return vs[0]
			}
		}
		return ""
	}
	var recs []Record
	var bad []*RowError
	err = t.rows(func(line int, get func(string) string, row []string) {
		b := builder{rec: Record{Line: line}}
		if n := get("name"); n != "" {
			b.name(n)
		} else {
			b.name(get("first name"), get("given name"), get("middle name"), get("additional name"),
				get("last name"), get("family name"))
		}
		if b.rec.Name == "" && len(b.errs) == 0 {
			b.name(first(get, "nickname", "file as"))
		}
		for _, i := range emailCols {
			if i < len(row) {
				b.email(row[i])
			}
		}
		b.rec.Org = oneLine(first(get, "organization name", "organization 1 - name"))
		b.rec.Role = oneLine(first(get, "organization title", "organization 1 - title"))
		b.rec.URL = oneLine(first(get, "website 1 - value"))
		b.rec.Note = strings.TrimSpace(get("notes"))
		for _, col := range []string{"labels", "group membership"} {
			for _, l := range splitMulti(get(col)) {
				b.tag(l)
			}
		}
		b.add(&recs, &bad)
	})
	if err != nil {
		return recs, bad, fmt.Errorf("google: %w", err)
	}
	return recs, bad, nil
}
