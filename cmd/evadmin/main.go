// Command evadmin is "Access Tokens for 3rd Party Email Services": the
// admin web utility (evadmin serve) and its command line. See
// `evadmin help`.
package main

import (
	"mailtokens/internal/cli"
	"mailtokens/internal/cmdline"
)

func main() { cmdline.Main(cli.Program) }
