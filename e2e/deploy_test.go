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
