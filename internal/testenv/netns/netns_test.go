package netns

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestNetwork: a listener opened in the hub serves a host, and a command
// run in a host sees that host's address only.
func TestNetwork(t *testing.T) {
	nw := New(t, 2)
	var ln net.Listener
	if err := nw.Hub.Do(func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(HubAddr, "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, c.RemoteAddr().String())
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, h := range nw.Hosts {
		c, err := h.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("dial the hub from %s: %v", h.Name, err)
		}
		from, _ := io.ReadAll(c)
		c.Close()
		if host, _, _ := net.SplitHostPort(string(from)); host != h.Addr {
			t.Errorf("the hub saw a connection from %q, want %s", from, h.Addr)
		}
		out, err := h.Command("ip", "-4", "-o", "addr", "show").CombinedOutput()
		if err != nil {
			t.Fatalf("ip addr in %s: %v\n%s", h.Name, err, out)
		}
		if !strings.Contains(string(out), " "+h.Addr+"/24") || strings.Contains(string(out), HubAddr+"/") {
			t.Errorf("addresses in %s:\n%s", h.Name, out)
		}
	}
}
