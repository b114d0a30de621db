package main

import (
	"time"

	"github.com/cilium/ebpf/btf"
)

// kernelBtf: btf.LoadSpec on /sys/kernel/btf/vmlinux (not LoadKernelSpec, which caches) plus one
// TypeByName. cilium/ebpf 0.9.1 predates BTF_KIND_ENUM64 (kind 19), which Linux 6.0+ emits, so on
// this kernel it is expected to fail: the error is reported.
func kernelBtf(rounds int) {
	ms := make([]float64, 0, rounds)
	for r := -1; r < rounds; r++ {
		t0 := time.Now()
		spec, err := btf.LoadSpec("/sys/kernel/btf/vmlinux")
		if err != nil {
			fail("btf.LoadSpec", err)
		}
		var s *btf.Struct
		if err := spec.TypeByName("task_struct", &s); err != nil {
			fail("TypeByName", err)
		}
		if r >= 0 {
			ms = append(ms, msSince(t0))
		}
	}
	best, median := bestAndMedian(ms)
	out(map[string]float64{"bestMs": best, "medianMs": median})
}
