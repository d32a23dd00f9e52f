package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/catwalk/reviews/gen"
	"github.com/catwalk/reviews/progress"
)

func cmdGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen", `usage: catwalk gen --out DIR [flags]

Writes reviews.csv, reviews_photos.csv, characteristics.csv and
characteristic_reviews.csv into DIR, in the format of the real export. The
same flags always give byte-identical files. -dirty F adds about that
fraction of bad rows of every kind the ETL rejects and prints their counts.`, stderr)
	out := fs.String("out", "", "directory to write the four CSV files into")
	products := fs.Int("products", gen.FullScale, "number of products (the default is full scale)")
	seed := fs.Uint64("seed", 1, "random seed")
	dirty := fs.Float64("dirty", 0, "fraction of extra bad rows (0 to 0.5)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errUsageMsg(stderr, "gen needs -out DIR")
	}
	start := time.Now()
	prog := progress.Start(stderr, "gen", int64(*products))
	var last int64
	counts, err := gen.Generate(gen.Options{
		Dir: *out, Products: *products, Seed: *seed, Dirty: *dirty,
		Progress: func(p, rows int64) {
			prog.Add(p-last, 0)
			prog.SetRows(rows)
			last = p
		},
	})
	prog.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-28s %12d\n%-28s %12d\n%-28s %12d\n%-28s %12d\n",
		"reviews.csv", counts.Reviews, "reviews_photos.csv", counts.Photos,
		"characteristics.csv", counts.Characteristics, "characteristic_reviews.csv", counts.CharacteristicReviews)
	if *dirty > 0 {
		fmt.Fprintln(stdout, "\nbad rows written:")
		counts.WriteBad(stdout)
	}
	fmt.Fprintf(stdout, "\n%d products, %d rows in %.1fs\n", *products, counts.Rows(), time.Since(start).Seconds())
	return nil
}
