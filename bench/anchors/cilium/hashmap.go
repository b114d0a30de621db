package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
)

const entries = 10000
const round = 2000

type value24 struct{ A, B, C uint64 }

// measure runs op in rounds of 2,000 until the budget is spent and returns the best round's ns/op.
func measure(budgetMs int, op func(i uint32) error) float64 {
	var k uint32
	for i := 0; i < round; i++ {
		if err := op(k % entries); err != nil {
			fail("warm-up", err)
		}
		k++
	}
	best := 1e30
	end := time.Now().Add(time.Duration(budgetMs) * time.Millisecond)
	for time.Now().Before(end) {
		t0 := time.Now()
		for i := 0; i < round; i++ {
			if err := op(k % entries); err != nil {
				fail("op", err)
			}
			k++
		}
		if ns := float64(time.Since(t0).Nanoseconds()) / round; ns < best {
			best = ns
		}
	}
	return best
}

// The hashmap server (cilium serve hashmap): creates and fills the map once, then answers
//
//	lookup <ms>        {"lookupNs"}        Map.Lookup([]byte, *[]byte): the usual way, allocates the result
//	lookupUnsafe <ms>  {"lookupUnsafeNs"}  Map.Lookup into an unsafe.Pointer: no allocation, the fastest the API allows
//	update <ms>        {"updateNs"}        Map.Put([]byte, []byte)
//	batch <rounds>     {"batchNsPerEntry"} BatchLookup of all 10,000 entries into []uint64 keys and []value24 values
func init() {
	servers["hashmap"] = func([]string) func([]string) {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "bench", Type: ebpf.Hash, KeySize: 8, ValueSize: 24, MaxEntries: entries})
		if err != nil {
			fail("NewMap", err)
		}
		key := make([]byte, 8)
		value := make([]byte, 24)
		for i := range value {
			value[i] = 7
		}
		for i := uint64(0); i < entries; i++ {
			binary.LittleEndian.PutUint64(key, i)
			if err := m.Put(key, value); err != nil {
				fail("fill", err)
			}
		}
		var result []byte
		var fixed [24]byte
		keys := make([]uint64, entries)
		values := make([]value24, entries)
		return func(cmd []string) {
			if len(cmd) != 2 {
				fail("command", fmt.Errorf("%q: want lookup|lookupUnsafe|update <ms> or batch <rounds>", cmd))
			}
			arg := atoi(cmd[1])
			switch cmd[0] {
			case "lookup":
				out(map[string]float64{"lookupNs": measure(arg, func(i uint32) error {
					binary.LittleEndian.PutUint32(key, i)
					return m.Lookup(key, &result)
				})})
			case "lookupUnsafe":
				out(map[string]float64{"lookupUnsafeNs": measure(arg, func(i uint32) error {
					binary.LittleEndian.PutUint32(key, i)
					return m.Lookup(key, unsafe.Pointer(&fixed))
				})})
			case "update":
				out(map[string]float64{"updateNs": measure(arg, func(i uint32) error {
					binary.LittleEndian.PutUint32(key, i)
					return m.Put(key, value)
				})})
			case "batch":
				best := 1e30
				for r := 0; r < arg; r++ {
					var next uint64
					t0 := time.Now()
					n, err := m.BatchLookup(nil, &next, keys, values, nil)
					ns := float64(time.Since(t0).Nanoseconds())
					if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
						fail("BatchLookup", err)
					}
					if n != entries {
						fail("BatchLookup", errors.New("short batch"))
					}
					if ns/entries < best {
						best = ns / entries
					}
				}
				out(map[string]float64{"batchNsPerEntry": best})
			default:
				fail("command", fmt.Errorf("unknown command %q", cmd[0]))
			}
		}
	}
}
