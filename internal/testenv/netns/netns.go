// Package netns gives a test hosts of its own on one Linux machine:
// network namespaces made with `ip netns`, joined by veth pairs to a
// bridge in one more namespace, the hub, which stands for the host of the
// database and the providers. Every address lives inside the test's own
// namespaces (10.213.0.0/24); nothing in the machine's own network
// changes, so runs side by side never meet.
//
// Making namespaces needs root (CAP_SYS_ADMIN) and iproute2's ip: without
// them [New] skips the test, or fails it under MAILTOKENS_REQUIRE_ALL=1.
package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"mailtokens/internal/testenv"
)

// The network: the hub's bridge has HubAddr; host i (from 1) has
// 10.213.0.(10+i).
const (
	HubAddr = "10.213.0.1"
	prefix  = "/24"
)

// NS is one network namespace.
type NS struct {
	// Name is its name for `ip netns`.
	Name string
	// Addr is its address on the test's network.
	Addr string
}

// Path is the namespace's file, for setns(2).
func (n *NS) Path() string { return filepath.Join("/run/netns", n.Name) }

// Command runs name with args inside the namespace: `ip netns exec`.
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Network is the hub and the hosts.
type Network struct {
	Hub   *NS
	Hosts []*NS
}

// namePrefix starts every namespace's name; the process id after it lets
// a later run remove what a killed run left behind.
const namePrefix = "mtk"

var staleName = regexp.MustCompile(`^` + namePrefix + `(\d+)-`)

// New makes the hub and n hosts, each host joined to the hub's bridge by a
// veth pair, every link up. Everything is deleted when t ends, also when
// it fails.
func New(t testing.TB, n int) *Network {
	t.Helper()
	Require(t)
	removeStale(t)
	id := fmt.Sprintf("%s%d-%d", namePrefix, os.Getpid(), uniq())
	nw := &Network{Hub: &NS{Name: id + "-hub", Addr: HubAddr}}
	for i := 1; i <= n; i++ {
		nw.Hosts = append(nw.Hosts, &NS{Name: fmt.Sprintf("%s-h%d", id, i), Addr: fmt.Sprintf("10.213.0.%d", 10+i)})
	}
	for _, ns := range append([]*NS{nw.Hub}, nw.Hosts...) {
		// Root in a container without CAP_SYS_ADMIN cannot: say so.
		if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
			testenv.Missing(t, fmt.Sprintf("a network namespace (ip netns add: %v: %s)", err, strings.TrimSpace(string(out))),
				"run the test as root with CAP_SYS_ADMIN, as CI does")
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v\n%s", ns.Name, err, out)
			}
		})
		ip(t, "-n", ns.Name, "link", "set", "lo", "up")
	}
	hub := nw.Hub.Name
	ip(t, "-n", hub, "link", "add", "br0", "type", "bridge")
	ip(t, "-n", hub, "addr", "add", HubAddr+prefix, "dev", "br0")
	ip(t, "-n", hub, "link", "set", "br0", "up")
	for i, h := range nw.Hosts {
		// Created inside the hub, the pair's names are the namespaces'
		// own: no name in the machine's namespace is ever taken.
		port := fmt.Sprintf("h%d", i+1)
		ip(t, "-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.Name)
		ip(t, "-n", hub, "link", "set", port, "master", "br0", "up")
		ip(t, "-n", h.Name, "addr", "add", h.Addr+prefix, "dev", "eth0")
		ip(t, "-n", h.Name, "link", "set", "eth0", "up")
	}
	return nw
}

var counter atomic.Int64

func uniq() int64 { return counter.Add(1) }

// Require skips t (fails it under MAILTOKENS_REQUIRE_ALL=1) unless this
// process can make network namespaces: root and ip.
func Require(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux only")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Missing(t, "ip (iproute2), to make network namespaces", "apt-get install iproute2")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to make network namespaces (ip netns)", "run the test as root, as CI does")
	}
}

func ip(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// removeStale deletes the namespaces of test processes that no longer run
// (killed before their cleanup).
func removeStale(t testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := staleName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("remove stale namespace %s: %v %s", name, err, out)
		}
	}
}
