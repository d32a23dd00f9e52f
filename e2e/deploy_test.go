package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
	f("docker-compose.yml", compose, `["migrate", "-demo-products"`)
	f("docker-compose.yml", compose, "service_completed_successfully")
	for _, svc := range []string{"api1", "api2", "api3"} {
		f("docker-compose.yml", compose, "\n  "+svc+":")
		f("nginx.conf", nginx, "server "+svc+":3000 ")
	}
	f("nginx.conf", nginx, "listen 8080;")
	// NGINX looks the instances up again when compose recreates them:
	// `resolve` (1.27.3+) needs a resolver (Docker's) and a shared zone.
	f("nginx.conf", nginx, "resolver 127.0.0.11 ")
	f("nginx.conf", nginx, "zone catwalk ")
	for _, svc := range []string{"api1", "api2", "api3"} {
		f("nginx.conf", nginx, "server "+svc+":3000 max_fails=3 fail_timeout=10s resolve;")
	}
	if m := regexp.MustCompile(`image: nginx:1\.([0-9]+)\.([0-9]+)`).FindStringSubmatch(compose); m == nil {
		t.Error("docker-compose.yml: no nginx:1.x.y image")
	} else if minor, _ := strconv.Atoi(m[1]); minor < 27 || minor == 27 && m[2] < "3" && len(m[2]) == 1 {
		t.Errorf("nginx 1.%s.%s does not know `resolve` in upstream servers (1.27.3+)", m[1], m[2])
	}

	// An instance's memory limit is its cache's bound plus the allowance,
	// and so is its Go soft limit; every service has one (TestComposeFile).
	f("docker-compose.yml", compose, "CACHE_MAX_BYTES: ${CACHE_MAX_BYTES:-268435456}")
	f("docker-compose.yml", compose, "GOMEMLIMIT: ${API_MEMORY_BOUND:-512MiB}")
	f("docker-compose.yml", compose, "mem_limit: ${API_MEM_LIMIT:-576m}")

	// Every base image is pinned to a version, never latest or bare.
	images := regexp.MustCompile(`(?m)^(?:FROM|\s+image:)\s+(\S+)`).FindAllStringSubmatch(dockerfile+"\n"+compose, -1)
	if len(images) < 4 {
		t.Fatalf("found %d images, want the build, runtime, postgres and nginx images", len(images))
	}
	pinned := regexp.MustCompile(`:v?[0-9]+\.[0-9]+(\.[0-9]+)?[-a-z0-9.]*$`)
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
