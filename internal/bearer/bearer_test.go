package bearer

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"", 0}, {"7", 7 * time.Second}, {"-3", 0}, {"soon", 0}, {"999999", time.Hour}} {
		if got := RetryAfter(c.in); got != c.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := RetryAfter(time.Now().Add(30 * time.Second).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")); got < 25*time.Second || got > 31*time.Second {
		t.Errorf("an HTTP date 30 s ahead gives %v", got)
	}
}

// TestSameOrigin: only the API's own scheme and host get the token.
func TestSameOrigin(t *testing.T) {
	c := &Caller{Base: "https://graph.microsoft.com/v1.0"}
	if err := c.sameOrigin("https://graph.microsoft.com/v1.0/users/x/messages/delta?$deltatoken=1"); err != nil {
		t.Fatalf("the API's own link refused: %v", err)
	}
	for _, bad := range []string{"https://evil.example/v1.0/delta", "http://graph.microsoft.com/v1.0/delta", "//evil.example/x", "https://graph.microsoft.com.evil.example/x"} {
		if err := c.sameOrigin(bad); err == nil {
			t.Errorf("%s followed", bad)
		}
	}
}
