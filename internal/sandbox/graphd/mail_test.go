package graphd

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailtokens/internal/sandbox/mailauth"
)

// MIME sendMail: 202 with no body; the envelope is To, Cc and Bcc; the
// recipients' copies lose the Bcc header, the Sent Items copy keeps it.
// Bad base64 is a 400.
func TestSendMailMIME(t *testing.T) {
	f := newFixture(t)
	w := f.World
	tok := f.userToken(t)
	raw := []byte("From: Support <support@contoso.example>\r\nTo: Alex <alex@contoso.example>\r\nCc: outside@example.net\r\n" +
		"Bcc: helpdesk@contoso.example,\r\n hidden@example.net\r\nSubject: hello\r\n\r\nBcc: not a header\r\n")
	// Wrapped at 76 columns, as MIME base64 often is.
	enc := b64(raw)
	var wrapped []byte
	for len(enc) > 76 {
		wrapped, enc = append(append(wrapped, enc[:76]...), '\r', '\n'), enc[76:]
	}
	wrapped = append(wrapped, enc...)
	r := f.do(t, "POST", "/v1.0/users/"+w.MSUser+"/sendMail", tok, wrapped, "Content-Type", "text/plain")
	if r.Status != http.StatusAccepted || len(r.Body) != 0 {
		t.Fatalf("sendMail: HTTP %d %q", r.Status, r.Body)
	}
	sent := f.srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("Sent() = %d messages", len(sent))
	}
	wantRcpts := []string{"alex@contoso.example", "outside@example.net", "helpdesk@contoso.example", "hidden@example.net"}
	if s := sent[0]; !slices.Equal(s.Recipients, wantRcpts) || !bytes.Equal(s.Raw, raw) || s.Mailbox != w.MSUser || !s.SavedToSentItems {
		t.Errorf("Sent()[0] = %+v, want recipients %q", s, wantRcpts)
	}
	wantDelivered := "From: Support <support@contoso.example>\r\nTo: Alex <alex@contoso.example>\r\nCc: outside@example.net\r\n" +
		"Subject: hello\r\n\r\nBcc: not a header\r\n"
	if got := string(sent[0].Delivered); got != wantDelivered {
		t.Errorf("delivered copy:\n%q\nwant\n%q", got, wantDelivered)
	}
	// Over IMAP: Sent Items has the message as sent, read; Alex's and the
	// shared mailbox's INBOX have the copy without Bcc.
	msgs, err := f.imap.Messages(w.MSUser, "Sent Items")
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Raw, raw) || !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("Sent Items = %+v, %v", msgs, err)
	}
	for _, box := range []string{w.MSOtherUser, w.MSSharedMailbox} {
		msgs, err := f.imap.Messages(box, "INBOX")
		if err != nil || len(msgs) != 1 || string(msgs[0].Raw) != wantDelivered {
			t.Errorf("INBOX of %s = %+v, %v", box, msgs, err)
		}
	}

	r = f.do(t, "POST", "/v1.0/users/"+w.MSUser+"/sendMail", tok, []byte("not base64!"), "Content-Type", "text/plain")
	wantError(t, "bad base64", r, http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
	r = f.do(t, "POST", "/v1.0/users/"+w.MSUser+"/sendMail", f.userToken(t, "Mail.ReadWrite"), b64(raw), "Content-Type", "text/plain")
	wantError(t, "without Mail.Send", r, http.StatusForbidden, "ErrorAccessDenied", "")
	if n := len(f.srv.Sent()); n != 1 {
		t.Errorf("refused requests were recorded: %d sent", n)
	}

	// An app-only token with Mail.Send sends as any mailbox.
	r = f.do(t, "POST", "/v1.0/users/"+w.MSOtherUser+"/sendMail", f.AppToken(t, "https://graph.microsoft.com"), b64(msg("from the app")), "Content-Type", "text/plain")
	if r.Status != http.StatusAccepted {
		t.Errorf("app-only sendMail: HTTP %d %s", r.Status, r.Body)
	}
}

// JSON sendMail builds a message; saveToSentItems "false" (a string, as in
// Microsoft's example) keeps it out of Sent Items.
func TestSendMailJSON(t *testing.T) {
	f := newFixture(t)
	body := `{"message":{"subject":"Lunch?","body":{"contentType":"Text","content":"The new cafeteria is open."},
		"toRecipients":[{"emailAddress":{"address":"alex@contoso.example"}}]},"saveToSentItems":"false"}`
	r := f.do(t, "POST", "/v1.0/me/sendMail", f.userToken(t), []byte(body), "Content-Type", "application/json")
	if r.Status != http.StatusAccepted {
		t.Fatalf("HTTP %d %s", r.Status, r.Body)
	}
	s := f.srv.Sent()
	if len(s) != 1 || !slices.Equal(s[0].Recipients, []string{"alex@contoso.example"}) || s[0].SavedToSentItems {
		t.Fatalf("Sent() = %+v", s)
	}
	if msgs, _ := f.imap.Messages(f.World.MSUser, "Sent Items"); len(msgs) != 0 {
		t.Errorf("saved to Sent Items despite saveToSentItems false")
	}
	if msgs, _ := f.imap.Messages(f.World.MSOtherUser, "INBOX"); len(msgs) != 1 || !bytes.Contains(msgs[0].Raw, []byte("Subject: Lunch?")) {
		t.Errorf("recipient's INBOX: %+v", msgs)
	}
}

// imapLogin opens an IMAP connection to the fixture's IMAP server as the
// world's user, with a password.
func (f *fixture) imapLogin(t *testing.T) *imapclient.Client {
	t.Helper()
	f.Directory.SetPassword(f.World.MSUser, "pw")
	addr, err := f.imap.Listen(mailauth.Plain)
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(f.World.MSUser, "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// A message appended over IMAP comes back from $value byte for byte: CRLF,
// 8-bit bytes, odd control bytes, a 5,000-byte line, no final newline. So
// does one with bare LFs in its body, which IMAP cannot carry (go-imap's
// client turns them into CRLF on APPEND) but sendMail's MIME can. (Bare
// LFs in the header come back as CRLF: imapmemserver re-writes the header
// when it serves BODY[]; Exchange stores MIME with CRLF anyway.)
func TestMIMERoundTrip(t *testing.T) {
	f := newFixture(t)
	c := f.imapLogin(t)
	raw := []byte("Subject: odd bytes\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe \xff\xfe\x01\x7f\r\n" + strings.Repeat("long ", 1000) + "\r\n  trailing spaces  \r\nno final newline")
	ap := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := ap.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := ap.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.Wait(); err != nil {
		t.Fatal(err)
	}
	bareLF := []byte("Subject: bare LF\r\nX-Mailer: a Unix tool\r\n\r\nline one\nline two\r\nmixed\n")
	if _, err := f.imap.Append(f.World.MSUser, "INBOX", bareLF); err != nil {
		t.Fatal(err)
	}
	tok := f.userToken(t)
	ids := f.inboxIDs(t, tok)
	for subject, want := range map[string][]byte{"odd bytes": raw, "bare LF": bareLF} {
		id, ok := ids[subject]
		if !ok {
			t.Fatalf("%q is not in the delta: %v", subject, ids)
		}
		r := f.do(t, "GET", "/v1.0/users/"+f.World.MSUser+"/messages/"+id+"/$value", tok, nil)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, want) {
			t.Fatalf("$value of %q: HTTP %d, %d bytes %q, want the %d stored", subject, r.Status, len(r.Body), r.Body, len(want))
		}
	}
	// Reading did not mark them read.
	for _, m := range must(f.imap.Messages(f.World.MSUser, "INBOX")) {
		if slices.Contains(m.Flags, imap.FlagSeen) {
			t.Errorf("after $value: %+v", m)
		}
	}
	wantError(t, "unknown id", f.do(t, "GET", "/v1.0/me/messages/AAMkAAAA/$value", tok, nil), http.StatusBadRequest, "ErrorInvalidIdMalformed", "")
}

// Delta: pages of odata.maxpagesize with nextLinks, then a deltaLink;
// $select kept across pages; the deltaLink later returns only what
// changed: new mail, read state changed over IMAP, @removed for mail moved
// or deleted.
func TestDelta(t *testing.T) {
	f := newFixture(t)
	user := f.World.MSUser
	for i := 1; i <= 5; i++ {
		if _, err := f.imap.Append(user, "INBOX", msg(fmt.Sprintf("message %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	tok := f.userToken(t)
	entries, pages, deltaLink := f.deltaRound(t, "/v1.0/users/"+user+"/mailFolders/inbox/messages/delta?$select=subject,isRead", tok,
		"Prefer", "odata.maxpagesize=2")
	if !slices.Equal(pages, []int{2, 2, 1}) {
		t.Fatalf("pages of %v, want 2, 2, 1", pages)
	}
	ids := map[string]string{}
	for i, e := range entries {
		if e["subject"] != fmt.Sprintf("message %d", i+1) || e["isRead"] != false || e["id"] == "" {
			t.Errorf("entry %d = %v", i, e)
		}
		if _, ok := e["receivedDateTime"]; ok {
			t.Errorf("entry %d has receivedDateTime despite $select: %v", i, e)
		}
		ids[e["subject"].(string)] = e["id"].(string)
	}

	// Nothing changed: an empty page and a new deltaLink.
	entries, _, deltaLink = f.deltaRound(t, deltaLink, tok)
	if len(entries) != 0 {
		t.Fatalf("unchanged folder gave %v", entries)
	}

	// Changes: one new, one read over IMAP, one moved and one deleted
	// over Graph.
	if _, err := f.imap.Append(user, "INBOX", msg("message 6")); err != nil {
		t.Fatal(err)
	}
	uids := map[string]uint32{}
	all, _ := f.imap.Messages(user, "INBOX")
	for _, m := range all {
		uids[string(m.Raw)] = m.UID
	}
	if err := f.imap.StoreFlags(user, "INBOX", uids[string(msg("message 2"))], imap.StoreFlagsAdd, imap.FlagSeen); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "POST", "/v1.0/me/messages/"+ids["message 3"]+"/move", tok, []byte(`{"destinationId":"archive"}`), "Content-Type", "application/json"); r.Status != http.StatusCreated {
		t.Fatalf("move: HTTP %d %s", r.Status, r.Body)
	}
	if r := f.do(t, "DELETE", "/v1.0/me/messages/"+ids["message 4"], tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: HTTP %d %s", r.Status, r.Body)
	}
	entries, _, _ = f.deltaRound(t, deltaLink, tok)
	got := map[string]string{}
	for _, e := range entries {
		switch {
		case e["@removed"] != nil:
			got[e["id"].(string)] = "removed:" + e["@removed"].(map[string]any)["reason"].(string)
		default:
			got[e["id"].(string)] = fmt.Sprintf("%v read=%v", e["subject"], e["isRead"])
		}
	}
	want := map[string]string{
		ids["message 2"]: "message 2 read=true",
		ids["message 3"]: "removed:deleted",
		ids["message 4"]: "removed:deleted",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("delta entry %s = %q, want %q", id, got[id], w)
		}
		delete(got, id)
	}
	if len(got) != 1 {
		t.Errorf("other entries: %v, want message 6 alone", got)
	}
	for _, g := range got {
		if g != "message 6 read=false" {
			t.Errorf("new entry %q", g)
		}
	}
}

// An expired sync state answers 410 Gone, SyncStateNotFound, for a
// deltaLink and a nextLink alike; starting over works.
func TestDeltaExpired(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		f.imap.Append(f.World.MSUser, "INBOX", msg(fmt.Sprint("m", i)))
	}
	tok := f.userToken(t)
	start := "/v1.0/me/mailFolders/inbox/messages/delta"
	_, _, deltaLink := f.deltaRound(t, start, tok)
	r := f.do(t, "GET", start, tok, nil, "Prefer", "odata.maxpagesize=1")
	var d delta
	if r.Status != 200 || jsonInto(r.Body, &d) != nil || d.NextLink == "" {
		t.Fatalf("first page: HTTP %d %s", r.Status, r.Body)
	}
	f.srv.ExpireDeltaTokens()
	for _, link := range []string{deltaLink, d.NextLink} {
		wantError(t, "expired "+link, f.do(t, "GET", link, tok, nil), http.StatusGone, "SyncStateNotFound", "")
	}
	if entries, _, _ := f.deltaRound(t, start, tok); len(entries) != 3 {
		t.Errorf("starting over gave %d entries", len(entries))
	}
}

// PATCH isRead: 200 with the message; IMAP sees \Seen, and a client with
// INBOX selected hears of it.
func TestMarkRead(t *testing.T) {
	f := newFixture(t)
	user := f.World.MSUser
	f.imap.Append(user, "INBOX", msg("unread"))
	c := f.imapLogin(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	tok := f.userToken(t)
	id := f.inboxIDs(t, tok)["unread"]
	r := f.do(t, "PATCH", "/v1.0/users/"+user+"/messages/"+id, tok, []byte(`{"isRead":true}`), "Content-Type", "application/json")
	if r.Status != http.StatusOK || r.JSON(t)["isRead"] != true || r.JSON(t)["id"] != id {
		t.Fatalf("PATCH: HTTP %d %s", r.Status, r.Body)
	}
	fetched, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(fetched) != 1 || !slices.Contains(fetched[0].Flags, imap.FlagSeen) {
		t.Fatalf("over IMAP: %+v, %v", fetched, err)
	}
	r = f.do(t, "PATCH", "/v1.0/users/"+user+"/messages/"+id, tok, []byte(`{"isRead":false}`), "Content-Type", "application/json")
	if m, _ := f.imap.Messages(user, "INBOX"); r.Status != 200 || slices.Contains(m[0].Flags, imap.FlagSeen) {
		t.Errorf("isRead false: HTTP %d, flags %v", r.Status, m[0].Flags)
	}
	wantError(t, "read-only token", f.do(t, "PATCH", "/v1.0/users/"+user+"/messages/"+id, f.userToken(t, "Mail.Read"), []byte(`{"isRead":true}`),
		"Content-Type", "application/json"), http.StatusForbidden, "ErrorAccessDenied", "")
}

// Move: 201 with a new id, the message is in the target folder over IMAP
// and gone from the source; the old id is a 404. A folder found by its
// display name is a target too.
func TestMove(t *testing.T) {
	f := newFixture(t)
	user := f.World.MSUser
	f.imap.Append(user, "INBOX", msg("to archive"))
	f.imap.Append(user, "INBOX", msg("to processed"))
	if err := f.imap.CreateFolder(user, "Processed"); err != nil {
		t.Fatal(err)
	}
	tok := f.userToken(t)
	ids := f.inboxIDs(t, tok)
	r := f.do(t, "POST", "/v1.0/me/messages/"+ids["to archive"]+"/move", tok, []byte(`{"destinationId":"archive"}`), "Content-Type", "application/json")
	if r.Status != http.StatusCreated {
		t.Fatalf("move: HTTP %d %s", r.Status, r.Body)
	}
	moved := r.JSON(t)
	if moved["id"] == ids["to archive"] || moved["parentFolderId"] != folderID("Archive") || moved["subject"] != "to archive" {
		t.Errorf("moved message: %v", moved)
	}
	if m, _ := f.imap.Messages(user, "Archive"); len(m) != 1 || !bytes.Equal(m[0].Raw, msg("to archive")) {
		t.Errorf("Archive over IMAP: %+v", m)
	}
	wantError(t, "old id", f.do(t, "GET", "/v1.0/me/messages/"+ids["to archive"], tok, nil), http.StatusNotFound, "ErrorItemNotFound", "")
	if r := f.do(t, "GET", "/v1.0/me/messages/"+moved["id"].(string)+"/$value", tok, nil); !bytes.Equal(r.Body, msg("to archive")) {
		t.Errorf("$value under the new id: HTTP %d", r.Status)
	}

	r = f.do(t, "GET", "/v1.0/me/mailFolders?$filter=displayName%20eq%20'processed'", tok, nil)
	value, _ := r.JSON(t)["value"].([]any)
	if r.Status != 200 || len(value) != 1 {
		t.Fatalf("folder by name: HTTP %d %s", r.Status, r.Body)
	}
	folder := value[0].(map[string]any)["id"].(string)
	r = f.do(t, "POST", "/v1.0/me/messages/"+ids["to processed"]+"/move", tok, []byte(`{"destinationId":"`+folder+`"}`), "Content-Type", "application/json")
	if m, _ := f.imap.Messages(user, "Processed"); r.Status != http.StatusCreated || len(m) != 1 {
		t.Errorf("move to Processed: HTTP %d, folder holds %d", r.Status, len(m))
	}
	if m, _ := f.imap.Messages(user, "INBOX"); len(m) != 0 {
		t.Errorf("INBOX still holds %d", len(m))
	}
	wantError(t, "unknown folder", f.do(t, "POST", "/v1.0/me/messages/"+moved["id"].(string)+"/move", tok, []byte(`{"destinationId":"`+folderID("Nope")+`"}`),
		"Content-Type", "application/json"), http.StatusNotFound, "ErrorItemNotFound", "")
}

// DELETE moves to Deleted Items; deleting there, or permanentDelete,
// removes the message from IMAP altogether.
func TestDelete(t *testing.T) {
	f := newFixture(t)
	user := f.World.MSUser
	f.imap.Append(user, "INBOX", msg("delete me"))
	f.imap.Append(user, "INBOX", msg("purge me"))
	tok := f.userToken(t)
	ids := f.inboxIDs(t, tok)
	if r := f.do(t, "DELETE", "/v1.0/me/messages/"+ids["delete me"], tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: HTTP %d %s", r.Status, r.Body)
	}
	deleted, _ := f.imap.Messages(user, "Deleted Items")
	if len(deleted) != 1 {
		t.Fatalf("Deleted Items holds %d", len(deleted))
	}
	ref := msgRef{mailbox: user, folder: "Deleted Items", uid: deleted[0].UID}
	ref.uidValidity, _ = f.imap.UIDValidity(user, "Deleted Items")
	if r := f.do(t, "DELETE", "/v1.0/me/messages/"+ref.id(), tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE in Deleted Items: HTTP %d %s", r.Status, r.Body)
	}
	if r := f.do(t, "POST", "/v1.0/me/messages/"+ids["purge me"]+"/permanentDelete", tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("permanentDelete: HTTP %d %s", r.Status, r.Body)
	}
	for _, folder := range []string{"INBOX", "Deleted Items"} {
		if m, _ := f.imap.Messages(user, folder); len(m) != 0 {
			t.Errorf("%s still holds %d", folder, len(m))
		}
	}
}
