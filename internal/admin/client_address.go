package admin

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddress is the address login throttling counts by: the peer's,
// or, when the peer is a trusted proxy, the rightmost X-Forwarded-For entry
// that no trusted proxy added (entries further left are the client's own
// say). An IPv6 client counts by its /64, which one subscriber usually
// holds whole.
func (s *Server) clientAddress(r *http.Request) string {
	addr := parseAddr(r.RemoteAddr)
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if s.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := parseAddr(strings.TrimSpace(hops[i]))
			if !hop.IsValid() {
				break // a proxy wrote nonsense: the last good hop is all we know
			}
			addr = hop
			if !s.trusted(hop) {
				break
			}
		}
	}
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "1.2.3.4", "1.2.3.4:5", "::1" or "[::1]:5"; an IPv4
// address mapped into IPv6 is the IPv4 address.
func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}
