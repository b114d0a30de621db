package main

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

// cilium serve load <object.o>: stays up and answers each `load` with one round (loadRound), as
// {"ms", "programs", "maps"}; the first answer is the process's first load.
func init() {
	servers["load"] = func(setup []string) func(command []string) {
		if len(setup) != 1 {
			fail("usage", fmt.Errorf("cilium serve load <object.o>"))
		}
		return func(command []string) {
			if command[0] != "load" {
				fail("usage", fmt.Errorf("unknown command %q", command[0]))
			}
			ms, progs, maps := loadRound(setup[0])
			out(map[string]interface{}{"ms": ms, "programs": progs, "maps": maps})
		}
	}
}

// loadRound: LoadCollectionSpec (ELF and BTF parse) + NewCollection (maps, relocation,
// verification), timed, then Close.
func loadRound(path string) (ms float64, progs, maps int) {
	t0 := time.Now()
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		fail("LoadCollectionSpec", err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		fail("NewCollection", err)
	}
	ms = msSince(t0)
	progs, maps = len(coll.Programs), len(coll.Maps)
	coll.Close()
	return ms, progs, maps
}
