package api_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
)

// excelContacts is a contact file as Excel on Windows saves it: "José" in windows-1252.
const excelContacts = "name,phone\nJos\xe9,415 555 0101\n"

// encodedBody is a create body with the campaign, contacts and, when not "", an encoding
// part.
func encodedBody(t *testing.T, encoding string) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range []struct{ name, file, content string }{{"campaign", "c.yaml", testCampaign}, {"contacts", "excel.csv", excelContacts}} {
		w, _ := mw.CreateFormFile(p.name, p.file)
		_, _ = io.WriteString(w, p.content)
	}
	if encoding != "" {
		_ = mw.WriteField("encoding", encoding)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

// TestEncoding: create and validate read a contact file in the encoding given by a part or
// the query parameter, as dialer upload --encoding does; without it a non-UTF-8 file is
// refused with its line and column.
func TestEncoding(t *testing.T) {
	h := setup(t)
	ct, body := encodedBody(t, "")
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/validate", ct, body); rec.Code != 422 || !strings.Contains(rec.Body.String(), "windows-1252") {
		t.Errorf("a windows-1252 file without encoding: %d %s", rec.Code, rec.Body)
	}
	ct, body = encodedBody(t, "")
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/validate?encoding=windows-1252", ct, body); rec.Code != 200 || !strings.Contains(rec.Body.String(), "José") {
		t.Errorf("validate with ?encoding=windows-1252: %d %s", rec.Code, rec.Body)
	}
	ct, body = encodedBody(t, "windows-1252")
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body)
	if rec.Code != 201 {
		t.Fatalf("create with part encoding: %d %s", rec.Code, rec.Body)
	}
	id := decode[campaign.Status](t, rec).CampaignID
	if ct, err := h.store.Contact(t.Context(), id, 1); err != nil || ct.Name != "José" {
		t.Errorf("contact 1's name %q, %v; want José", ct.Name, err)
	}
	ct, body = encodedBody(t, "ebcdic")
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body); rec.Code != 400 || !strings.Contains(rec.Body.String(), "use utf-8, windows-1252 or latin-1") {
		t.Errorf("an unknown encoding: %d %s", rec.Code, rec.Body)
	}
	ct, body = encodedBody(t, "latin-1")
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns?encoding=windows-1252", ct, body); rec.Code != 400 {
		t.Errorf("part and query disagreeing: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns?encoding=latin-1", "application/json", strings.NewReader(`{"campaign": {"name": "j", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b", "contacts": {"numberColumn": "phone"}}, "contacts": [{"phone": "415 555 0101"}]}`)); rec.Code != 400 {
		t.Errorf("encoding with a JSON body: %d %s", rec.Code, rec.Body)
	}
}
