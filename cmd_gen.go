package main

import (
	"context"
	"errors"
	"io"
)

func cmdGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen", "usage: catwalk gen --out DIR [flags]", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}
