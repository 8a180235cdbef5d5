package taskconf

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestEvadminTrustedProxies(t *testing.T) {
	c, _, err := LoadEvadmin(write(t, "TRUSTED_PROXIES = 10.0.0.5, 192.168.1.0/24 ::1\t2001:db8::/32\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32"), netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("2001:db8::/32")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Fatalf("TRUSTED_PROXIES = %v, want %v", c.TrustedProxies, want)
	}
	if c, _, _ := LoadEvadmin(write(t, "LISTEN = 127.0.0.1:8080\n")); len(c.TrustedProxies) != 0 {
		t.Fatalf("default: %v", c.TrustedProxies)
	}
	got := problemsOf(t, loadEvadmin, "TRUSTED_PROXIES = 10.0.0.0/33, proxy.contoso.com\n")
	for _, w := range []string{
		`:1: TRUSTED_PROXIES: "10.0.0.0/33" is not an address or CIDR range (e.g. 10.0.0.5 or 10.0.0.0/24)`,
		`:1: TRUSTED_PROXIES: "proxy.contoso.com" is not an address or CIDR range (e.g. 10.0.0.5 or 10.0.0.0/24)`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}
