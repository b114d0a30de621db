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
// consumption, drain (ring filled by Program.Benchmark, i.e. BPF_PROG_TEST_RUN with repeat) and
// live (dd producer through the tracepoint; a goroutine blocked in ReadInto).
// Every record is visited: its 32-bit word at byte 8 is added to a checksum (the same work the
// other implementations do), printed with the results.
//
//	cilium records <records.bpf.o> ring|perf <size> <live writes>: one live run
//	cilium serve records <records.bpf.o> ring|perf <size>: then one drain round per `drain` line,
//	so that the implementations can take turns round by round under the same moment of this
//	noisy machine
func init() {
	servers["records"] = func(setup []string) func(command []string) {
		if len(setup) != 3 {
			fail("usage", fmt.Errorf("cilium serve records <records.bpf.o> ring|perf <size>"))
		}
		b := openRecords(setup[0], setup[1] == "perf", atoi(setup[2]))
		return func(command []string) {
			switch command[0] {
			case "drain":
				b.drainRound()
			default:
				fail("usage", fmt.Errorf("unknown command %q", command[0]))
			}
		}
	}
}

func records(path string, usePerf bool, size, writes int) {
	b := openRecords(path, usePerf, size)
	defer b.coll.Close()
	b.live(writes)
}

// recordsBench: the object with the two programs of one (output, record size) loaded, and a
// reader on its output.
type recordsBench struct {
	coll                 *ebpf.Collection
	xdpName, tpName      string
	read                 func() error // reads the next record into *sample
	closeReader          func()
	sample               *[]byte // the last record read
	checksum, kernelLost uint64
	n                    int // records per drain round: 90% of the ring
}

func (b *recordsBench) visit() {
	b.checksum += uint64(binary.LittleEndian.Uint32((*b.sample)[8:12]))
}

func openRecords(path string, usePerf bool, size int) *recordsBench {
	const ringSize = 16 << 20
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		fail("LoadCollectionSpec", err)
	}
	kind := "ring"
	if usePerf {
		kind = "perf"
	}
	b := &recordsBench{xdpName: fmt.Sprintf("xdp_%s_%d", kind, size), tpName: fmt.Sprintf("tp_%s_%d", kind, size)}
	for name := range spec.Programs { // load only the two programs this run uses
		if name != b.xdpName && name != b.tpName {
			delete(spec.Programs, name)
		}
	}
	if b.coll, err = ebpf.NewCollection(spec); err != nil {
		fail("NewCollection", err)
	}

	if usePerf {
		rd, err := perf.NewReader(b.coll.Maps["events"], ringSize)
		if err != nil {
			fail("perf.NewReader", err)
		}
		var rec perf.Record
		b.sample = &rec.RawSample
		b.read = func() error {
			for {
				if err := rd.ReadInto(&rec); err != nil {
					return err
				}
				if rec.LostSamples == 0 {
					return nil
				}
				b.kernelLost += rec.LostSamples
			}
		}
		b.closeReader = func() { rd.Close() }
	} else {
		rd, err := ringbuf.NewReader(b.coll.Maps["ring"])
		if err != nil {
			fail("ringbuf.NewReader", err)
		}
		var rec ringbuf.Record
		b.sample = &rec.RawSample
		b.read = func() error { return rd.ReadInto(&rec) }
		b.closeReader = func() { rd.Close() }
	}
	perRecord := (8 + size + 7) &^ 7
	if usePerf {
		perRecord = (8 + 4 + size + 7) &^ 7
	}
	b.n = int(float64(ringSize) * 0.9 / float64(perRecord))
	return b
}

// drainRound: fill the ring with n records, then time the reader alone taking them.
func (b *recordsBench) drainRound() {
	pkt := make([]byte, 64)
	if _, _, err := b.coll.Programs[b.xdpName].Benchmark(pkt, b.n, nil); err != nil {
		fail("Program.Benchmark", err)
	}
	b.checksum = 0
	t0 := time.Now()
	for i := 0; i < b.n; i++ {
		if err := b.read(); err != nil {
			fail("read", err)
		}
		b.visit()
	}
	ns := float64(time.Since(t0).Nanoseconds())
	out(map[string]interface{}{"drainRecordsPerSec": 1e9 * float64(b.n) / ns, "drainRecords": b.n, "drainChecksum": b.checksum})
}

// live: the dd producer's writes through the tracepoint, a goroutine blocked in ReadInto. It ends
// by closing the reader (0.9.1's readers have no deadline), so it is the bench's last use.
func (b *recordsBench) live(writes int) {
	stats := b.coll.Maps["stats"]
	tp, err := attachTracepoint(b.coll.Programs[b.tpName], "syscalls", "sys_enter_write")
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
	b.checksum = 0
	var received int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if err := b.read(); err != nil {
				if !errors.Is(err, ringbuf.ErrClosed) && !errors.Is(err, perf.ErrClosed) {
					fmt.Fprintln(os.Stderr, "read:", err)
				}
				return
			}
			b.visit()
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
	b.closeReader()
	<-done
	out(map[string]interface{}{
		"liveRecordsPerSec": float64(got) / seconds, "liveReceived": got, "liveLost": failed,
		"kernelLost": b.kernelLost, "writes": writes, "liveChecksum": b.checksum,
	})
}
