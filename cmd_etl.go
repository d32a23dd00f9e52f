package main

import (
	"context"
	"errors"
	"io"
)

func cmdETL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("etl", "usage: catwalk etl --dir DIR [flags]", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}

// loadDemoIfEmpty generates and loads a demo dataset of products products
// into the database at dbURL when it holds no reviews.
func loadDemoIfEmpty(ctx context.Context, dbURL, dir string, products int, stdout io.Writer) error {
	return nil
}
