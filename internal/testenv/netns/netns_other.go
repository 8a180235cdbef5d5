//go:build !linux

package netns

import (
	"context"
	"errors"
	"net"
)

var errNotLinux = errors.New("network namespaces are Linux only")

// Do fails: network namespaces are Linux only (New skips before).
func (n *NS) Do(f func() error) error { return errNotLinux }

// DialContext fails: network namespaces are Linux only.
func (n *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, errNotLinux
}

// Enter fails: network namespaces are Linux only.
func Enter(path string) error { return errNotLinux }
