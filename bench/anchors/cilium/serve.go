package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Serve mode (bench/lib/anchors.ts AnchorSession): `cilium serve <benchmark> <setup args...>` sets
// up once, then answers one command per line on stdin with one JSON line on stdout (out), until
// stdin ends. Each benchmark's file registers its server here from an init function: the server
// gets the setup arguments and returns the function that answers one command (its words).
var servers = map[string]func(setup []string) func(command []string){}

func serve(args []string) {
	if len(args) < 1 {
		fail("usage", fmt.Errorf("cilium serve <benchmark> <setup args...>"))
	}
	start, ok := servers[args[0]]
	if !ok {
		fail("usage", fmt.Errorf("no serve mode for %q", args[0]))
	}
	answer := start(args[1:])
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		words := strings.Fields(in.Text())
		if len(words) > 0 {
			answer(words)
		}
	}
}
