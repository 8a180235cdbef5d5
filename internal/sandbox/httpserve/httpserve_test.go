package httpserve

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServer(t *testing.T) {
	var s Server
	if err := s.Close(); err != nil || s.URL() != "" || s.Listening() {
		t.Fatalf("before Listen: Close %v, URL %q, Listening %v", err, s.URL(), s.Listening())
	}
	url, err := s.Listen("testd", "", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(url, "http://127.0.0.1:") || s.URL() != url || !s.Listening() {
		t.Errorf("Listen = %q, URL %q, Listening %v", url, s.URL(), s.Listening())
	}
	if _, err := s.Listen("testd", "", nil, http.NotFoundHandler()); err == nil || err.Error() != "testd: already listening" {
		t.Errorf("second Listen: %v", err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("body %q", body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still serving after Close")
	}
}

func TestSetRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", time.Second: "1", 1500 * time.Millisecond: "2", time.Millisecond: "1"} {
		h := http.Header{}
		SetRetryAfter(h, d)
		if got := h.Get("Retry-After"); got != want {
			t.Errorf("SetRetryAfter(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestFaults(t *testing.T) {
	var f Faults[string]
	f.Add(2, "a")
	f.Add(1, "b")
	for _, want := range []string{"a", "a", "b"} {
		if got, ok := f.Next(); !ok || got != want {
			t.Fatalf("Next = %q, %v; want %q", got, ok, want)
		}
	}
	if got, ok := f.Next(); ok {
		t.Errorf("Next on empty = %q", got)
	}
}
