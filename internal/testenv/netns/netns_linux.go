//go:build linux

package netns

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs f inside the namespace, on a thread of its own that ends with
// it: sockets f opens belong to the namespace for good (a listener keeps
// serving the namespace whichever thread accepts), and no other goroutine
// ever runs in it. Processes f starts are in the namespace too.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with this goroutine instead of
		// going back to the scheduler inside the namespace.
		runtime.LockOSThread()
		if err := Enter(n.Path()); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// DialContext dials from inside the namespace, for an http.Transport or a
// database driver in the test process.
func (n *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Enter moves the calling thread into the network namespace at path. The
// caller must have locked its goroutine to the thread
// (runtime.LockOSThread) and never unlock it.
func Enter(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter network namespace %s: %w", path, err)
	}
	return nil
}
