package main

import (
	"time"

	"github.com/cilium/ebpf"
)

// load: LoadCollectionSpec (ELF and BTF parse) + NewCollection (maps, relocation, verification),
// then Close, per round.
func load(path string, rounds int) {
	ms := make([]float64, 0, rounds)
	var progs, maps int
	for r := -1; r < rounds; r++ {
		t0 := time.Now()
		spec, err := ebpf.LoadCollectionSpec(path)
		if err != nil {
			fail("LoadCollectionSpec", err)
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			fail("NewCollection", err)
		}
		elapsed := msSince(t0)
		progs, maps = len(coll.Programs), len(coll.Maps)
		coll.Close()
		if r >= 0 {
			ms = append(ms, elapsed)
		}
	}
	best, median := bestAndMedian(ms)
	out(map[string]interface{}{"bestMs": best, "medianMs": median, "programs": progs, "maps": maps})
}
