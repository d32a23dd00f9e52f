// Package testnet gives tests a loopback port that a process they start can
// bind: one below Linux's ephemeral range, so no outgoing connection of a
// test running in parallel takes it meanwhile.
package testnet

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// FreePort returns a port of 127.0.0.1 that is free now. It is drawn from
// 20000–31999, below Linux's ephemeral range (32768–60999 by default): a
// port the kernel picks (":0") can be taken as the local port of another
// test's outgoing connection between this check and the process binding
// it, which showed as "address already in use".
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	tb.Fatal("no free port in 20000–31999")
	return 0
}
