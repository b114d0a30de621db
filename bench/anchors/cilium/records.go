package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// attachTracepoint is link.Tracepoint where it works. cilium/ebpf 0.9.1 looks for tracefs only
// under /sys/kernel/debug/tracing, which is absent when debugfs is not mounted (as here: tracefs is
// at /sys/kernel/tracing); then the same attachment is made by hand: a tracepoint perf event
// (pid -1, CPU 0, as cilium opens it) with the program set by PERF_EVENT_IOC_SET_BPF.
func attachTracepoint(prog *ebpf.Program, group, name string) (interface{ Close() error }, error) {
	if l, err := link.Tracepoint(group, name, prog, nil); err == nil {
		return l, nil
	}
	idText, err := os.ReadFile(fmt.Sprintf("/sys/kernel/tracing/events/%s/%s/id", group, name))
	if err != nil {
		return nil, err
	}
	var id uint64
	fmt.Sscan(string(idText), &id)
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Config: id, Sample: 1, Wakeup: 1}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("perf_event_open: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("PERF_EVENT_IOC_ENABLE: %w", err)
	}
	return perfFd(fd), nil
}

type perfFd int

func (f perfFd) Close() error { return unix.Close(int(f)) }

// records: ring buffer (ringbuf.Reader.ReadInto) or perf event array (perf.Reader.ReadInto)
// consumption, drain (ring filled by Program.Benchmark, i.e. BPF_PROG_TEST_RUN with repeat, best
// round) and live (dd producer through the tracepoint; a goroutine blocked in ReadInto).
// Every record is visited: its 32-bit word at byte 8 is added to a checksum (the same work the
// other implementations do), printed with the results.
func records(path string, usePerf bool, size, rounds, writes int) {
	const ringSize = 16 << 20
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		fail("LoadCollectionSpec", err)
	}
	kind := "ring"
	if usePerf {
		kind = "perf"
	}
	xdpName, tpName := fmt.Sprintf("xdp_%s_%d", kind, size), fmt.Sprintf("tp_%s_%d", kind, size)
	for name := range spec.Programs { // load only the two programs this run uses
		if name != xdpName && name != tpName {
			delete(spec.Programs, name)
		}
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		fail("NewCollection", err)
	}
	defer coll.Close()
	stats := coll.Maps["stats"]

	var read func() error
	var closeReader func()
	var sample *[]byte // the last record read
	var checksum uint64
	visit := func() {
		checksum += uint64(binary.LittleEndian.Uint32((*sample)[8:12]))
	}
	var kernelLost uint64
	if usePerf {
		rd, err := perf.NewReader(coll.Maps["events"], ringSize)
		if err != nil {
			fail("perf.NewReader", err)
		}
		var rec perf.Record
		sample = &rec.RawSample
		read = func() error {
			for {
				if err := rd.ReadInto(&rec); err != nil {
					return err
				}
				if rec.LostSamples == 0 {
					return nil
				}
				kernelLost += rec.LostSamples
			}
		}
		closeReader = func() { rd.Close() }
	} else {
		rd, err := ringbuf.NewReader(coll.Maps["ring"])
		if err != nil {
			fail("ringbuf.NewReader", err)
		}
		var rec ringbuf.Record
		sample = &rec.RawSample
		read = func() error { return rd.ReadInto(&rec) }
		closeReader = func() { rd.Close() }
	}

	// Drain.
	perRecord := (8 + size + 7) &^ 7
	if usePerf {
		perRecord = (8 + 4 + size + 7) &^ 7
	}
	n := int(float64(ringSize) * 0.9 / float64(perRecord))
	pkt := make([]byte, 64)
	best := 1e30
	for r := 0; r < rounds; r++ {
		if _, _, err := coll.Programs[xdpName].Benchmark(pkt, n, nil); err != nil {
			fail("Program.Benchmark", err)
		}
		checksum = 0
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := read(); err != nil {
				fail("read", err)
			}
			visit()
		}
		if ns := float64(time.Since(t0).Nanoseconds()) / float64(n); ns < best {
			best = ns
		}
	}

	// Live.
	tp, err := attachTracepoint(coll.Programs[tpName], "syscalls", "sys_enter_write")
	if err != nil {
		fail("attach tracepoint", err)
	}
	cmd := exec.Command("sh", "-c", fmt.Sprintf("read _ && exec dd if=/dev/zero of=/dev/null bs=1 count=%d status=none", writes))
	stdin, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fail("start producer", err)
	}
	if err := stats.Put(uint32(0), uint64(cmd.Process.Pid)); err != nil {
		fail("stats", err)
	}
	_ = stats.Put(uint32(1), uint64(0))
	drainChecksum := checksum
	checksum = 0
	var received int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if err := read(); err != nil {
				if !errors.Is(err, ringbuf.ErrClosed) && !errors.Is(err, perf.ErrClosed) {
					fmt.Fprintln(os.Stderr, "read:", err)
				}
				return
			}
			visit()
			atomic.AddInt64(&received, 1)
		}
	}()
	t0 := time.Now()
	stdin.Write([]byte("go\n"))
	stdin.Close()
	cmd.Wait()
	// The producer has exited: wait until every write is received or counted as failed (2 s at most).
	var failed uint64
	deadline := time.Now().Add(2 * time.Second)
	for {
		_ = stats.Lookup(uint32(1), &failed)
		if atomic.LoadInt64(&received)+int64(failed) >= int64(writes) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Microsecond)
	}
	seconds := time.Since(t0).Seconds()
	got := atomic.LoadInt64(&received)
	tp.Close()
	closeReader()
	<-done
	out(map[string]interface{}{
		"drainRecordsPerSec": 1e9 / best, "liveRecordsPerSec": float64(got) / seconds, "liveReceived": got,
		"liveLost": failed, "kernelLost": kernelLost, "writes": writes, "drainRounds": rounds, "drainRecords": n,
		"drainChecksum": drainChecksum, "liveChecksum": checksum,
	})
}
