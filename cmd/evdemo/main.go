// Command evdemo is what `make demo` runs: the whole mailtokens loop on this
// machine, with a sandbox standing in for Microsoft and Google. It is the
// only program that contains the sandbox.
package main

import (
	"mailtokens/internal/cmdline"
	"mailtokens/internal/demo"
)

func main() { cmdline.Main(demo.Program) }
