package testenv

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"regexp"
	"testing"
	"time"
)

// Program is a command line as its package runs it (cmdline.Program.Run).
type Program func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Console runs a command whose output must be read while it runs, as a
// person at a terminal would: it returns the command's standard input, its
// standard output line by line, and its exit code once it ends. Its
// standard error is logged if it fails.
func Console(t testing.TB, run Program, args ...string) (stdin io.WriteCloser, lines <-chan string, done <-chan int) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ch := make(chan string, 100)
	fin := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	go func() {
		var errb bytes.Buffer
		code := run(context.Background(), args, inR, outW, &errb)
		if code != 0 {
			t.Logf("%q exited %d: %s", args, code, errb.String())
		}
		outW.Close()
		fin <- code
	}()
	return inW, ch, fin
}

// WaitLine reads lines until one matches re, and returns its submatches;
// it fails t when the output ends or 20 s pass first.
func WaitLine(t testing.TB, lines <-chan string, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %s", re)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %s", re)
		}
	}
}
