// Command evadmin is "Access Tokens for 3rd Party Email Services": the
// admin web utility (evadmin serve) and its command line. See
// `evadmin help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"mailtokens/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
