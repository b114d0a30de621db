// cilium/ebpf anchors (Debian's golang-github-cilium-ebpf-dev, 0.9.1), one subcommand per benchmark;
// each prints one JSON line. Built offline in GOPATH mode by bench/anchors/build.ts.
//
//	cilium records <records.bpf.o> ring|perf <size> <live writes>
//	cilium btf <rounds>
//	cilium serve <benchmark> <setup args...>   (serve.go: one command per stdin line)
//	cilium serve hashmap                       (hashmap.go)
//	cilium serve load <object.o>               (load.go)
//	cilium serve records <records.bpf.o> ring|perf <size>   (records.go)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

func out(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	out(map[string]string{"error": fmt.Sprintf("%s: %v", what, err)})
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("argument", err)
	}
	return n
}

func bestAndMedian(ms []float64) (float64, float64) {
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	return s[0], s[len(s)/2]
}

func msSince(t0 time.Time) float64 { return float64(time.Since(t0).Nanoseconds()) / 1e6 }

func main() {
	if len(os.Args) < 2 {
		fail("usage", fmt.Errorf("cilium records|btf|serve ..."))
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "records":
		records(args[0], args[1] == "perf", atoi(args[2]), atoi(args[3]))
	case "btf":
		kernelBtf(atoi(args[0]))
	case "serve":
		serve(args)
	default:
		fail("usage", fmt.Errorf("unknown benchmark %q", os.Args[1]))
	}
}
