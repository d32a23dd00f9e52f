package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployFiles: no Docker engine runs here, so the Dockerfile and
// docker-compose.yml are checked for what they must say and for agreeing
// with nginx.conf (whose derived copy the other tests run).
func TestDeployFiles(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile, compose, nginx := read("Dockerfile"), read("docker-compose.yml"), read("nginx.conf")
	f := func(file, text, want string) {
		t.Helper()
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
	f("Dockerfile", dockerfile, "CGO_ENABLED=0")
	f("Dockerfile", dockerfile, "AS build")
	f("Dockerfile", dockerfile, "COPY --from=build")
	f("Dockerfile", dockerfile, "USER catwalk")
	f("Dockerfile", dockerfile, "/healthz")
	f("Dockerfile", dockerfile, "HEALTHCHECK")
	f("docker-compose.yml", compose, "./nginx.conf:/etc/nginx/nginx.conf:ro")
	f("docker-compose.yml", compose, `"8080:8080"`)
	f("docker-compose.yml", compose, `PORT: "3000"`)
	f("docker-compose.yml", compose, "catwalk migrate")
	f("docker-compose.yml", compose, "catwalk gen")
	f("docker-compose.yml", compose, "catwalk etl")
	f("docker-compose.yml", compose, "service_completed_successfully")
	for _, svc := range []string{"api1", "api2", "api3"} {
		f("docker-compose.yml", compose, "\n  "+svc+":")
		f("nginx.conf", nginx, "server "+svc+":3000 ")
	}
	f("nginx.conf", nginx, "listen 8080;")

	// Every service has a memory limit; an instance's is its cache's
	// bound plus the allowance, and so is its Go soft limit.
	f("docker-compose.yml", compose, "CACHE_MAX_BYTES: ${CACHE_MAX_BYTES:-268435456}")
	f("docker-compose.yml", compose, "GOMEMLIMIT: ${API_MEMORY_BOUND:-512MiB}")
	f("docker-compose.yml", compose, "mem_limit: ${API_MEM_LIMIT:-576m}")
	services := regexp.MustCompile(`(?m)^  ([a-z0-9]+):`).FindAllStringSubmatch(compose[strings.Index(compose, "\nservices:"):strings.Index(compose, "\nvolumes:")], -1)
	if len(services) != 6 {
		t.Errorf("found %d services, want db, setup, api1-3, nginx", len(services))
	}
	limited := strings.Count(compose, "\n    mem_limit: ") + 3*strings.Count(compose, "\n  mem_limit: ")
	if limited != len(services) {
		t.Errorf("%d of %d services have a mem_limit", limited, len(services))
	}

	// Every base image is pinned to a version, never latest or bare.
	images := regexp.MustCompile(`(?m)^(?:FROM|\s+image:)\s+(\S+)`).FindAllStringSubmatch(dockerfile+"\n"+compose, -1)
	if len(images) < 4 {
		t.Fatalf("found %d images, want the build, runtime, postgres and nginx images", len(images))
	}
	pinned := regexp.MustCompile(`:[0-9]+\.[0-9]+(\.[0-9]+)?[-a-z0-9.]*$`)
	for _, m := range images {
		img := m[1]
		if img == "catwalk-reviews:local" {
			continue // built here
		}
		if !pinned.MatchString(img) {
			t.Errorf("image %s is not pinned to a version", img)
		}
	}
}
