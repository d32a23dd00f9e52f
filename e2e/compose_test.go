package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/progress"
)

// loadCompose loads docker-compose.yml as `docker compose config` does
// (compose-go, the library behind it: schema validation, interpolation
// with the defaults of ${VAR:-default}, normalization), with no
// environment and no .env file, so the defaults are what is checked.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(nil), cli.WithDiscardEnvFile,
		cli.WithInterpolation(true), cli.WithNormalization(true), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml is not a valid compose file: %v", err)
	}
	return p
}

// apiServices are the compose services running `catwalk serve`.
func apiServices(p *types.Project) []string {
	var api []string
	for name, s := range p.Services {
		if slices.Equal(s.Command, types.ShellCommand{"serve"}) {
			api = append(api, name)
		}
	}
	slices.Sort(api)
	return api
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

// TestComposeFile: the compose file is valid and says what surviving a
// real host takes: limits, health checks, start order, connections.
func TestComposeFile(t *testing.T) {
	p := loadCompose(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range p.Services {
			if !yield(n) {
				return
			}
		}
	})
	want := []string{"api1", "api2", "api3", "db", "grafana", "nginx", "prometheus", "setup"}
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	api := apiServices(p)
	if !slices.Equal(api, []string{"api1", "api2", "api3"}) {
		t.Fatalf("services running serve: %v, want api1-3", api)
	}

	for _, name := range names {
		s := p.Services[name]
		// A memory limit on every service, with no swap beyond it.
		if s.MemLimit <= 0 {
			t.Errorf("%s: no mem_limit", name)
		}
		if s.MemSwapLimit != s.MemLimit {
			t.Errorf("%s: memswap_limit %d, want mem_limit %d (no swap)", name, s.MemSwapLimit, s.MemLimit)
		}
		// A health check on every long-running service (setup runs once).
		if name == "setup" {
			continue
		}
		if h := s.HealthCheck; h == nil || h.Disable || len(h.Test) < 2 {
			t.Errorf("%s: no health check", name)
		}
		if s.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q, want unless-stopped", name, s.Restart)
		}
	}

	dep := func(from, to, cond string) {
		t.Helper()
		d, ok := p.Services[from].DependsOn[to]
		if !ok || d.Condition != cond {
			t.Errorf("%s depends on %s with %+v, want condition %s", from, to, d, cond)
		}
	}
	dep("setup", "db", types.ServiceConditionHealthy)
	dep("grafana", "prometheus", types.ServiceConditionHealthy)
	for _, a := range api {
		dep(a, "setup", types.ServiceConditionCompletedSuccessfully)
		// NGINX starts once every instance is ready, not merely up.
		dep("nginx", a, types.ServiceConditionHealthy)
		if test := strings.Join(p.Services[a].HealthCheck.Test, " "); !strings.Contains(test, "/readyz") {
			t.Errorf("%s: health check %q does not ask /readyz", a, test)
		}
	}

	// The demo data's "loaded" marker is the data: no volume of the setup
	// job's own that could disagree with the database's.
	setup := p.Services["setup"]
	if len(setup.Volumes) != 0 {
		t.Errorf("setup has volumes %v: the loaded marker must live with the data", setup.Volumes)
	}
	if !slices.Contains(setup.Command, "-demo-products") || setup.Command[0] != "migrate" {
		t.Errorf("setup runs %q, want migrate -demo-products", setup.Command)
	}

	// Connections: the instances' pools and listeners fit in the
	// database's max_connections whatever the host's CPU count: both pool
	// sizes are set, INSTANCES says how many, the database's limit is set.
	var maxConns int
	for _, arg := range p.Services["db"].Command {
		if v, ok := strings.CutPrefix(arg, "max_connections="); ok {
			maxConns, _ = strconv.Atoi(v)
		}
	}
	if maxConns == 0 {
		t.Fatalf("db: command %q does not set max_connections", p.Services["db"].Command)
	}
	for _, a := range api {
		s := p.Services[a]
		if strings.Contains(env(s, "DATABASE_URL"), "pool_max_conns") {
			t.Errorf("%s: the URL's pool_max_conns would hide DB_MAX_CONNS from the budget", a)
		}
		writes, err1 := strconv.Atoi(env(s, "DB_MAX_CONNS"))
		reads, err2 := strconv.Atoi(env(s, "DB_READ_PIPELINES"))
		instances, err3 := strconv.Atoi(env(s, "INSTANCES"))
		if err1 != nil || err2 != nil || err3 != nil || reads < 1 {
			t.Fatalf("%s: DB_MAX_CONNS %q, DB_READ_PIPELINES %q, INSTANCES %q: each must be set (reads default to the CPU count)",
				a, env(s, "DB_MAX_CONNS"), env(s, "DB_READ_PIPELINES"), env(s, "INSTANCES"))
		}
		if instances != len(api) {
			t.Errorf("%s: INSTANCES %d, but %d instances are defined", a, instances, len(api))
		}
		// PostgreSQL's default superuser_reserved_connections is 3; 2 is
		// the listener and the announcer (server.coherenceConns).
		if need := len(api) * (writes + reads + 2); need > maxConns-3 {
			t.Errorf("%d instances × (%d + %d + 2) = %d connections, more than max_connections %d less 3 reserved", len(api), writes, reads, need, maxConns)
		}
	}

	// Every file mounted from the repository is there.
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", name, v.Source, err)
			}
		}
	}
}

// TestPrometheusAndGrafanaConfig: Prometheus scrapes every instance
// directly, Grafana's provisioning points at it and at the dashboard, and
// the dashboard asks only for series an instance (or the ETL) writes.
func TestPrometheusAndGrafanaConfig(t *testing.T) {
	p := loadCompose(t)
	root := repoRoot(t)
	mount := func(service, target string) string {
		t.Helper()
		for _, v := range p.Services[service].Volumes {
			if v.Target == target {
				return v.Source
			}
		}
		t.Fatalf("%s mounts nothing at %s", service, target)
		return ""
	}

	// Prometheus: the catwalk job's targets are exactly the instances.
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	promFile := mount("prometheus", "/etc/prometheus/prometheus.yml")
	b, err := os.ReadFile(promFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prom); err != nil {
		t.Fatalf("%s: %v", promFile, err)
	}
	var wantTargets []string
	for _, a := range apiServices(p) {
		wantTargets = append(wantTargets, a+":"+env(p.Services[a], "PORT"))
	}
	jobs := map[string][]string{}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			jobs[sc.JobName] = append(jobs[sc.JobName], st.Targets...)
		}
		if sc.JobName == "catwalk" && sc.MetricsPath != "/metrics" {
			t.Errorf("job catwalk scrapes %q, want /metrics", sc.MetricsPath)
		}
	}
	got := slices.Sorted(slices.Values(jobs["catwalk"]))
	if !slices.Equal(got, wantTargets) {
		t.Errorf("Prometheus job catwalk scrapes %v, want every instance directly: %v", got, wantTargets)
	}
	if !slices.Contains(jobs["catwalk-etl"], "setup:9400") || !slices.Contains(p.Services["setup"].Command, ":9400") {
		t.Errorf("the setup job's load progress (-metrics-addr :9400) is not scraped: %v", jobs["catwalk-etl"])
	}

	// Grafana: a Prometheus data source on the compose service, and a
	// dashboard provider reading the mounted dashboards directory.
	prov := mount("grafana", "/etc/grafana/provisioning")
	var ds struct {
		Datasources []struct {
			UID, Type, URL string
		}
	}
	b, err = os.ReadFile(filepath.Join(prov, "datasources", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("data sources %+v, want the compose Prometheus", ds.Datasources)
	}
	var dp struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		}
	}
	b, err = os.ReadFile(filepath.Join(prov, "dashboards", "catwalk.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &dp); err != nil {
		t.Fatal(err)
	}
	if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
		t.Fatalf("dashboard providers %+v, want one of type file", dp.Providers)
	}
	dashDir := mount("grafana", dp.Providers[0].Options.Path)
	if dashDir != filepath.Join(root, "deploy", "grafana", "dashboards") {
		t.Errorf("the provider reads %s, mounted from %s", dp.Providers[0].Options.Path, dashDir)
	}

	// The dashboard parses, uses that data source, and names only series
	// that exist: an instance's /metrics (scraped from a real one below),
	// the ETL's, and Prometheus's own up.
	b, err = os.ReadFile(filepath.Join(dashDir, "catwalk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string
		Panels []struct {
			Title      string
			Type       string
			Datasource *struct{ UID string }
			Targets    []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("catwalk.json: %v", err)
	}
	exported := exportedSeries(t)
	nameRe := regexp.MustCompile(`\b((?:catwalk|process|go)_[a-z0-9_]+|up)\b`)
	titles := map[string]bool{}
	for _, pn := range dash.Panels {
		if pn.Type == "row" {
			continue
		}
		titles[pn.Title] = true
		if pn.Datasource == nil || pn.Datasource.UID != ds.Datasources[0].UID {
			t.Errorf("panel %q: data source %+v, want uid %q", pn.Title, pn.Datasource, ds.Datasources[0].UID)
		}
		if len(pn.Targets) == 0 {
			t.Errorf("panel %q has no query", pn.Title)
		}
		for _, q := range pn.Targets {
			names := nameRe.FindAllString(q.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no series", pn.Title, q.Expr)
			}
			for _, n := range names {
				if n != "up" && !exported[n] {
					t.Errorf("panel %q: %s is not a series catwalk writes", pn.Title, n)
				}
			}
		}
	}
	// What the issue asks the dashboard to show.
	for _, title := range []string{"Request rate by route", "Latency p50 / p99 by route", "5xx by route and status",
		"Cache hit ratio", "Cache bytes", "Pool usage", "Listener reconnects", "ETL progress"} {
		if !titles[title] {
			t.Errorf("the dashboard has no panel %q", title)
		}
	}
}

// exportedSeries scrapes a real instance's /metrics after one request of
// each kind (so the request histograms exist) and adds the ETL's series.
func exportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	in := startInstance(t, catwalkBinary(t))
	waitHTTP(t, in.URL("/readyz"), 30*time.Second, in.out.String)
	do(t, "GET", in.URL("/reviews/meta?product_id=1"), "")
	do(t, "GET", in.URL("/reviews/meta?product_id=1"), "")
	resp, err := http.Get(in.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	d := progress.NewDisplay(nil)
	d.Start("reviews", 1)
	var e strings.Builder
	etl.WritePrometheus(&e, d)
	names := map[string]bool{}
	for _, line := range strings.Split(string(b)+e.String(), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[name] = true
	}
	for _, must := range []string{"catwalk_http_request_duration_seconds_bucket", "catwalk_cache_hits_total", "catwalk_etl_phase_progress_ratio"} {
		if !names[must] {
			t.Fatalf("/metrics lacks %s:\n%s", must, b)
		}
	}
	return names
}
