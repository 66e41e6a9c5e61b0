package exporter

import (
	"net"
	"slices"
	"testing"
	"time"
)

// chunkConn hands out its chunks, one per Read, as a socket hands out
// what has arrived.
type chunkConn struct {
	net.Conn
	chunks [][]byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	n := copy(p, c.chunks[0])
	c.chunks = c.chunks[1:]
	return n, nil
}

// After a short read the next read waits out the gap, counted from that
// read; after a read that filled the buffer it goes at once.
func TestGatherConnWaitsOnlyAfterAShortRead(t *testing.T) {
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var slept []time.Duration
	c := newGatherConn(&chunkConn{chunks: [][]byte{
		make([]byte, 8), // fills the buffer: more is waiting
		make([]byte, 3), // short: the kernel had no more
		make([]byte, 3), // after the gap
		make([]byte, 3), // after the gap, 2 ms of it passed already
		make([]byte, 3), // the gap passed already
		make([]byte, 8), // fills
		make([]byte, 1), // at once
	}}, 5*time.Millisecond)
	c.now = func() time.Time { return clock }
	c.sleep = func(d time.Duration) { slept = append(slept, d); clock = clock.Add(d) }
	buf := make([]byte, 8)
	read := func(passed time.Duration) {
		clock = clock.Add(passed)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	read(0)
	read(0)
	read(0)
	read(2 * time.Millisecond)
	read(10 * time.Millisecond)
	read(0)
	read(0)
	if want := []time.Duration{5 * time.Millisecond, 3 * time.Millisecond, 5 * time.Millisecond}; !slices.Equal(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
}
