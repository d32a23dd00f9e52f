// Command genjson writes openapi.json from openapi.yaml (go generate ./api).
package main

import (
	"log"
	"os"

	"github.com/catwalk/reviews/api/internal/yamljson"
)

func main() {
	in, err := os.ReadFile("openapi.yaml")
	if err != nil {
		log.Fatal(err)
	}
	out, err := yamljson.Convert(in)
	if err != nil {
		log.Fatalf("openapi.yaml: %v", err)
	}
	if err := os.WriteFile("openapi.json", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
