// Command baseline is the yardstick of the read benchmarks: a minimal
// fasthttp server that answers every request with the same JSON body of
// -size bytes, with the server settings catwalk serve uses. The cache-hit
// target is a share of the requests/s this server reaches with the same
// load generator, connections and body size (bench/read.sh). A PUT gets
// 204 and no body, what the API answers a vote or a report, so the
// cluster's write yardstick (bench/cluster.sh, part baseline) runs the
// same load generator's PUT …/helpful against it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/envflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run serves until ctx ends. ln, when set, replaces -addr (tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ln net.Listener) int {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = envflag.Usage(fs, "usage: go run ./bench/baseline [-addr 127.0.0.1:8090] [-size 656]")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	size := fs.Int("size", 656, "bytes of the response body")
	if err := envflag.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *size < 2 || *size > 64<<20 {
		fmt.Fprintln(stderr, "baseline: -size must be within 2..67108864")
		return 2
	}
	body := Body(*size)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if ctx.IsPut() {
				ctx.SetStatusCode(fasthttp.StatusNoContent)
				return
			}
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBody(body)
		},
		Name:           "catwalk",
		ReadTimeout:    10 * time.Second,
		WriteTimeout:   10 * time.Second,
		IdleTimeout:    60 * time.Second,
		ReadBufferSize: 8192,
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", *addr); err != nil {
			fmt.Fprintln(stderr, "baseline:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "baseline: serving %d-byte bodies on %s\n", *size, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "baseline:", err)
		return 1
	case <-ctx.Done():
	}
	if err := srv.Shutdown(); err != nil {
		fmt.Fprintln(stderr, "baseline:", err)
		return 1
	}
	return 0
}

// Body is a JSON object of exactly size ≥ 2 bytes, shaped like a list answer.
func Body(size int) []byte {
	const head = `{"pad":"`
	const tail = `"}`
	if size < len(head)+len(tail) {
		return append(append([]byte("{"), bytes.Repeat([]byte(" "), size-2)...), '}')
	}
	b := make([]byte, 0, size)
	b = append(b, head...)
	b = append(b, bytes.Repeat([]byte("x"), size-len(head)-len(tail))...)
	return append(b, tail...)
}
