package gmaild

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// send, as media upload and as JSON raw: the envelope is To, Cc and Bcc;
// recipients get the message without Bcc; Sent Mail keeps it, read.
func TestSend(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, sendOnly)
	raw := []byte("From: support.team@gmail.example\r\nTo: Colleague <colleague@gmail.example>\r\nCc: outside@example.net\r\n" +
		"Bcc: hidden@example.net,\r\n Colleague@gmail.example\r\nSubject: hello\r\n\r\nBcc: not a header\r\n")
	wantDelivered := "From: support.team@gmail.example\r\nTo: Colleague <colleague@gmail.example>\r\nCc: outside@example.net\r\n" +
		"Subject: hello\r\n\r\nBcc: not a header\r\n"
	r := f.do(t, "POST", "/upload"+me+"/messages/send?uploadType=media", tok, raw, "Content-Type", "message/rfc822")
	if r.Status != http.StatusOK {
		t.Fatalf("media send: HTTP %d %s", r.Status, r.Body)
	}
	v := r.JSON(t)
	id, _ := v["id"].(string)
	if id == "" || v["threadId"] != id || !slices.Equal(labelsOf(v), []string{"SENT"}) {
		t.Errorf("send answered %v", v)
	}
	sent := f.srv.Sent()
	want := []string{"colleague@gmail.example", "outside@example.net", "hidden@example.net"}
	if len(sent) != 1 || !slices.Equal(sent[0].Recipients, want) || !bytes.Equal(sent[0].Raw, raw) ||
		string(sent[0].Delivered) != wantDelivered || sent[0].ID != id || sent[0].Mailbox != f.user {
		t.Fatalf("Sent() = %+v", sent)
	}
	msgs, err := f.imap.Messages(f.user, "[Gmail]/Sent Mail")
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Raw, raw) || !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("Sent Mail = %+v, %v", msgs, err)
	}
	if msgs, _ := f.imap.Messages(colleague, "INBOX"); len(msgs) != 1 || string(msgs[0].Raw) != wantDelivered {
		t.Errorf("colleague's INBOX = %+v", msgs)
	}

	// JSON raw, unpadded base64url (as Go's RawURLEncoding writes).
	raw2 := []byte("To: colleague@gmail.example\r\nSubject: ?>?>~~\r\n\r\n\xff\xfe?>\r\n")
	body := fmt.Sprintf(`{"raw":%q}`, base64.RawURLEncoding.EncodeToString(raw2))
	r = f.do(t, "POST", me+"/messages/send", tok, []byte(body), "Content-Type", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("JSON send: HTTP %d %s", r.Status, r.Body)
	}
	if s := f.srv.Sent(); len(s) != 2 || !bytes.Equal(s[1].Raw, raw2) {
		t.Errorf("Sent()[1] = %+v", s)
	}
	wantError(t, "bad base64", f.do(t, "POST", me+"/messages/send", tok, []byte(`{"raw":"not base64!"}`)), http.StatusBadRequest, "invalid", "")
	wantError(t, "no raw", f.do(t, "POST", me+"/messages/send", tok, []byte(`{}`)), http.StatusBadRequest, "invalidArgument", "")
	noTo := base64.URLEncoding.EncodeToString([]byte("Subject: x\r\n\r\nx\r\n"))
	wantError(t, "no recipients", f.do(t, "POST", me+"/messages/send", tok, []byte(`{"raw":"`+noTo+`"}`)), http.StatusBadRequest,
		"invalidArgument", "Recipient address required")
	if n := len(f.srv.Sent()); n != 2 {
		t.Errorf("refused sends recorded: %d", n)
	}
}

// A message appended over IMAP with odd bytes comes back from format=raw
// byte for byte; minimal and metadata carry labels, historyId,
// internalDate and sizeEstimate.
func TestRawRoundTrip(t *testing.T) {
	f := newFixture(t)
	raw := []byte("Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Odd: \x01\x7f\xc3\xa9\r\n\tfolded\r\n\r\nline\nbare LF\r\n\x00\xff trailing no newline")
	if _, err := f.imap.Append(f.user, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	tok := f.token(t, readonly)
	ids := f.ids(t, tok, "labelIds=INBOX&labelIds=UNREAD")
	if len(ids) != 1 {
		t.Fatalf("ids %v", ids)
	}
	v := f.get(t, me+"/messages/"+ids[0]+"?format=raw", tok)
	got, err := base64.URLEncoding.DecodeString(v["raw"].(string))
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("raw = %q, %v", got, err)
	}
	if v["sizeEstimate"] != float64(len(raw)) || v["internalDate"] == "" || v["historyId"] == "" ||
		!slices.Equal(labelsOf(v), []string{"INBOX", "UNREAD"}) {
		t.Errorf("message %v", v)
	}
	m := f.get(t, me+"/messages/"+ids[0]+"?format=metadata&metadataHeaders=Subject", tok)
	if h := m["payload"].(map[string]any)["headers"].([]any); len(h) != 1 {
		t.Errorf("metadata headers %v", h)
	}
	// Reading never marks read.
	if msgs, _ := f.imap.Messages(f.user, "INBOX"); slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Error("get set \\Seen")
	}
	wantError(t, "unknown id", f.do(t, "GET", me+"/messages/1234567890abcdef", tok, nil), http.StatusNotFound, "notFound", "")
}

// History from a profile's historyId lists only what arrived after it,
// page by page; after ForgetHistory that id answers 404, and a full sync
// (list, profile) recovers.
func TestHistory(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, modify)
	for i := range 3 {
		f.imap.Append(f.user, "INBOX", msg("old "+strconv.Itoa(i)))
	}
	start := f.get(t, me+"/profile", tok)["historyId"].(string)
	for i := range 5 {
		f.imap.Append(f.user, "INBOX", msg("new "+strconv.Itoa(i)))
	}
	f.imap.Append(f.user, "Receipts", msg("elsewhere"))
	var added []string
	pages := 0
	q := me + "/history?historyTypes=messageAdded&labelId=INBOX&maxResults=2&startHistoryId=" + start
	for next := ""; ; pages++ {
		p := q
		if next != "" {
			p += "&pageToken=" + next
		}
		v := f.get(t, p, tok)
		hist, _ := v["history"].([]any)
		for _, h := range hist {
			for _, a := range h.(map[string]any)["messagesAdded"].([]any) {
				m := a.(map[string]any)["message"].(map[string]any)
				added = append(added, m["id"].(string))
				if !slices.Contains(labelsOf(m), "INBOX") {
					t.Errorf("added without INBOX: %v", m)
				}
			}
		}
		next, _ = v["nextPageToken"].(string)
		if next == "" {
			break
		}
	}
	if len(added) != 5 || pages+1 < 3 {
		t.Fatalf("history added %d messages in %d pages", len(added), pages+1)
	}
	inbox := f.ids(t, tok, "labelIds=INBOX")
	for _, id := range added {
		if !slices.Contains(inbox, id) {
			t.Errorf("history id %s not in the listing", id)
		}
	}
	f.srv.ForgetHistory(f.user)
	r := f.do(t, "GET", me+"/history?startHistoryId="+start, tok, nil)
	wantError(t, "forgotten history", r, http.StatusNotFound, "notFound", "Requested entity was not found.")
	// Full sync: list, then the profile's historyId works from then on.
	if n := len(f.ids(t, tok, "labelIds=INBOX")); n != 8 {
		t.Errorf("full sync listed %d", n)
	}
	h := f.get(t, me+"/profile", tok)["historyId"].(string)
	f.imap.Append(f.user, "INBOX", msg("after"))
	v := f.get(t, me+"/history?startHistoryId="+h, tok)
	if hist, _ := v["history"].([]any); len(hist) != 1 {
		t.Errorf("history after recovery: %v", v)
	}
}

// modify: removing UNREAD sets \Seen over IMAP; moving between labels
// moves between folders and keeps the id; trash goes to [Gmail]/Trash;
// delete, with the full scope, expunges. Each change is in history.
func TestModifyTrashDelete(t *testing.T) {
	f := newFixture(t)
	f.imap.CreateFolder(f.user, "Archive")
	f.imap.Append(f.user, "INBOX", msg("one"))
	f.imap.Append(f.user, "INBOX", msg("two"))
	tok := f.token(t, modify)
	start := f.get(t, me+"/profile", tok)["historyId"].(string)
	ids := f.ids(t, tok, "labelIds=INBOX")
	one, two := ids[1], ids[0] // newest first, same date: later arrival first
	var archive string
	for _, l := range f.get(t, me+"/labels", tok)["labels"].([]any) {
		if l := l.(map[string]any); l["name"] == "Archive" {
			archive = l["id"].(string)
		}
	}
	if archive == "" {
		t.Fatal("no label for the Archive folder")
	}

	r := f.do(t, "POST", me+"/messages/"+one+"/modify", tok, []byte(`{"removeLabelIds":["UNREAD"]}`))
	if r.Status != http.StatusOK || !slices.Equal(labelsOf(r.JSON(t)), []string{"INBOX"}) {
		t.Fatalf("mark read: HTTP %d %s", r.Status, r.Body)
	}
	if msgs, _ := f.imap.Messages(f.user, "INBOX"); !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Error("no \\Seen over IMAP")
	}
	r = f.do(t, "POST", me+"/messages/"+one+"/modify", tok, []byte(`{"addLabelIds":["`+archive+`"],"removeLabelIds":["INBOX"]}`))
	if v := r.JSON(t); r.Status != http.StatusOK || v["id"] != one || !slices.Equal(labelsOf(v), []string{archive}) {
		t.Fatalf("move: HTTP %d %s", r.Status, r.Body)
	}
	if msgs, _ := f.imap.Messages(f.user, "Archive"); len(msgs) != 1 || !bytes.Equal(msgs[0].Raw, msg("one")) {
		t.Errorf("Archive over IMAP: %+v", msgs)
	}
	if v := f.get(t, me+"/messages/"+one+"?format=minimal", tok); !slices.Equal(labelsOf(v), []string{archive}) {
		t.Errorf("after move: %v", v)
	}
	wantError(t, "two folder labels", f.do(t, "POST", me+"/messages/"+two+"/modify", tok, []byte(`{"addLabelIds":["`+archive+`"]}`)),
		http.StatusBadRequest, "invalidArgument", "")
	wantError(t, "unknown label", f.do(t, "POST", me+"/messages/"+two+"/modify", tok, []byte(`{"addLabelIds":["Label_99"]}`)),
		http.StatusBadRequest, "invalidArgument", "Invalid label: Label_99")

	r = f.do(t, "POST", me+"/messages/"+two+"/trash", tok, nil)
	if v := r.JSON(t); r.Status != http.StatusOK || !slices.Contains(labelsOf(v), "TRASH") {
		t.Fatalf("trash: HTTP %d %s", r.Status, r.Body)
	}
	if msgs, _ := f.imap.Messages(f.user, "[Gmail]/Trash"); len(msgs) != 1 {
		t.Errorf("Trash over IMAP: %+v", msgs)
	}
	if ids := f.ids(t, tok, ""); !slices.Equal(ids, []string{one}) {
		t.Errorf("listing without spam and trash: %v", ids)
	}
	r = f.do(t, "DELETE", me+"/messages/"+two, f.token(t, full), nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: HTTP %d %s", r.Status, r.Body)
	}
	if msgs, _ := f.imap.Messages(f.user, "[Gmail]/Trash"); len(msgs) != 0 {
		t.Errorf("Trash after delete: %+v", msgs)
	}
	wantError(t, "deleted", f.do(t, "GET", me+"/messages/"+two, tok, nil), http.StatusNotFound, "notFound", "")

	// History: UNREAD removed, INBOX→Archive, trash, deletion.
	v := f.get(t, me+"/history?startHistoryId="+start, tok)
	var kinds []string
	for _, h := range v["history"].([]any) {
		for _, k := range []string{"messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved"} {
			if _, ok := h.(map[string]any)[k]; ok {
				kinds = append(kinds, k)
			}
		}
	}
	want := []string{"labelsRemoved", "labelsAdded", "labelsRemoved", "labelsAdded", "labelsRemoved", "messagesDeleted"}
	if !slices.Equal(kinds, want) {
		t.Errorf("history kinds %v, want %v", kinds, want)
	}
}

// A message an IMAP client moves keeps its id; one appended to a new
// folder gets a user label.
func TestIMAPMoveKeepsID(t *testing.T) {
	f := newFixture(t)
	uid, _ := f.imap.Append(f.user, "INBOX", msg("moving"))
	tok := f.token(t, readonly)
	id := f.ids(t, tok, "labelIds=INBOX")[0]
	if _, err := f.imap.MoveMessage(f.user, "INBOX", uid, "Projects/2026"); err == nil {
		t.Fatal("moved to a folder that does not exist")
	}
	f.imap.CreateFolder(f.user, "Projects/2026")
	if _, err := f.imap.MoveMessage(f.user, "INBOX", uid, "Projects/2026"); err != nil {
		t.Fatal(err)
	}
	v := f.get(t, me+"/messages/"+id+"?format=minimal", tok)
	if l := labelsOf(v); len(l) != 2 || l[0] != "Label_1" || l[1] != "UNREAD" {
		t.Errorf("after an IMAP move: %v", v)
	}
}
