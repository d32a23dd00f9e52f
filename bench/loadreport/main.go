// Command loadreport renders the JSON summary of a load run — bench/load's
// -json, or the one k6/lib.js's handleSummary writes under bench/results —
// as a self-contained HTML page (bench/loadhtml) that opens from a file.
//
//	go run ./bench/loadreport -in bench/results/k6-mixed-….json -out report.html
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/catwalk/reviews/bench/loadhtml"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the run's JSON summary")
	out := fs.String("out", "", "the HTML page to write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: loadreport -in SUMMARY.json -out REPORT.html")
		return 2
	}
	b, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(stderr, "loadreport:", err)
		return 1
	}
	s, err := loadhtml.Parse(b)
	if err != nil {
		fmt.Fprintln(stderr, "loadreport:", err)
		return 1
	}
	if err := loadhtml.WriteFile(*out, s); err != nil {
		fmt.Fprintln(stderr, "loadreport:", err)
		return 1
	}
	return 0
}
