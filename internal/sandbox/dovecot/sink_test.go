package dovecot

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSink(t *testing.T) {
	t.Parallel()
	s := StartSink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if msgs := s.Messages(t); len(msgs) != 0 {
		t.Fatalf("a new sink holds %d messages", len(msgs))
	}

	c := dialSMTP(t, s.Addr, nil)
	first := "Subject: first\r\n\r\n.starts with a dot\r\n" + strings.Repeat("y", 5000) + "\r\n"
	if err := c.SendMail("from@example.net", []string{"to1@example.net", "To2@Example.net"}, strings.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	// A transaction that is started and then reset leaves no message.
	if err := c.Mail("aborted@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("", []string{"bounce@example.net"}, strings.NewReader("Subject: second\r\n\r\n")); err != nil {
		t.Fatal(err)
	}

	msgs := s.WaitMessages(ctx, t, 2)
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(msgs))
	}
	if m := msgs[0]; m.From != "from@example.net" || !slices.Equal(m.To, []string{"to1@example.net", "To2@Example.net"}) ||
		m.Helo != "client.test" || string(m.Data) != first {
		t.Errorf("first message: from %q to %q helo %q data %s", m.From, m.To, m.Helo, clip(m.Data))
	}
	if m := msgs[1]; m.From != "" || !slices.Equal(m.To, []string{"bounce@example.net"}) || string(m.Data) != "Subject: second\r\n\r\n" {
		t.Errorf("second message (null sender): from %q to %q data %s", m.From, m.To, clip(m.Data))
	}
}

// TestSinkInProgress: a transaction whose DATA has not ended is not a
// message yet, even though its dump file exists.
func TestSinkInProgress(t *testing.T) {
	t.Parallel()
	s := StartSink(t)
	c := dialSMTP(t, s.Addr, nil)
	if err := c.Mail("from@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("to@example.net", nil); err != nil {
		t.Fatal(err)
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Write([]byte("Subject: half\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(t); len(msgs) != 0 {
		t.Fatalf("an unfinished transaction counted: %d messages", len(msgs))
	}
	if err := wc.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if m := s.WaitMessages(ctx, t, 1)[0]; string(m.Data) != "Subject: half\r\n\r\n" {
		t.Errorf("message: %s", clip(m.Data))
	}
}

func TestParseSinkDump(t *testing.T) {
	dump := "X-Client-Addr: 127.0.0.1\n" +
		"X-Client-Proto: ESMTP\n" +
		"X-Helo-Args: dovecot.test\n" +
		"X-Mail-Args: <pw@x.test> BODY=8BITMIME SIZE=51\n" +
		"X-Rcpt-Args: <a@b.example>\n" +
		"X-Rcpt-Args: <c@d.example> NOTIFY=NEVER\n" +
		"Received: from dovecot.test ([127.0.0.1])\n" +
		"\tby sink.test (smtp-sink) with ESMTP id 2f17f548;\n" +
		"\tSun, 22 Nov 2026 11:38:55 +0000 (UTC)\n" +
		"Subject: t\n\n.dot\nbody\n\n"
	m, err := parseSinkDump([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "pw@x.test" || !slices.Equal(m.To, []string{"a@b.example", "c@d.example"}) || m.Helo != "dovecot.test" ||
		string(m.Data) != "Subject: t\r\n\r\n.dot\r\nbody\r\n" {
		t.Errorf("parsed from %q to %q helo %q data %s", m.From, m.To, m.Helo, clip(m.Data))
	}

	for name, bad := range map[string]string{
		"unfinished":     strings.TrimSuffix(dump, "\n"),
		"no Received":    "X-Mail-Args: <a@b>\n\n",
		"no MAIL":        "Received: from x\n\tby y\n\tdate\nbody\n\n",
		"unknown record": "X-Other: 1\n" + dump,
		"empty":          "",
	} {
		if _, err := parseSinkDump([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseFetch(t *testing.T) {
	out := "uid: 1\nflags: \\Recent\nsize.physical: 14\ntext:\nSubject: x\r\n\r\n\f\n" +
		"uid: 7\nflags: \\Seen \\Recent $Forwarded\nsize.physical: 5\ntext:\n\f\n\fx\n\f\n" +
		"uid: 9\nflags: \nsize.physical: 0\ntext:\n"
	got, err := parseFetch([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{
		{UID: 1, Data: []byte("Subject: x\r\n\r\n")},
		{UID: 7, Flags: []string{`\Seen`, "$Forwarded"}, Data: []byte("\f\n\fx\n")},
		{UID: 9, Data: []byte{}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %s, want %d messages", describe(got), len(want))
	}
	for i := range want {
		if got[i].UID != want[i].UID || !slices.Equal(got[i].Flags, want[i].Flags) || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("message %d: got %s, want %s", i, describe(got[i:i+1]), describe(want[i:i+1]))
		}
	}
	if msgs, err := parseFetch(nil); err != nil || len(msgs) != 0 {
		t.Errorf("empty output: %s, %v", describe(msgs), err)
	}
	for name, bad := range map[string]string{
		"short text":     "uid: 1\nflags: \nsize.physical: 10\ntext:\nabc",
		"no separator":   "uid: 1\nflags: \nsize.physical: 1\ntext:\nabuid: 2\n",
		"fields missing": "uid: 1\ntext:\n",
		"bad uid":        "uid: x\nflags: \nsize.physical: 0\ntext:\n",
		"negative size":  "uid: 1\nflags: \nsize.physical: -1\ntext:\n",
	} {
		if _, err := parseFetch([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The parsers read other programs' output; they must not panic on any of it.
func FuzzParseSinkDump(f *testing.F) {
	f.Add([]byte("X-Mail-Args: <a@b>\nReceived: x\n\ty\n\tz\nbody\n\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseSinkDump(data)
		if err == nil && !bytes.HasSuffix(m.Data, []byte("\r\n")) && len(m.Data) > 0 {
			t.Errorf("data %q does not end in CRLF", m.Data)
		}
	})
}

func FuzzParseFetch(f *testing.F) {
	f.Add([]byte("uid: 1\nflags: \\Seen\nsize.physical: 3\ntext:\nabc\f\n"))
	f.Add([]byte("uid: 1\nflags: \nsize.physical: 2000000000\ntext:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := parseFetch(data)
		if err != nil {
			return
		}
		total := 0
		for _, m := range msgs {
			total += len(m.Data)
		}
		if total > len(data) {
			t.Errorf("parsed %d bytes of messages out of %d bytes", total, len(data))
		}
	})
}
