package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuUse is how many of the machine's cores were busy during one run, in
// all ("machine") and by kind of process (postgres, catwalk, nginx, load,
// pgbench, baseline, busy, other): NAME.cpu, written by bench/cluster.sh.
type cpuUse map[string]float64

// readCPU reads dir/name.cpu; nil when the file is absent.
func readCPU(dir, name string) (cpuUse, error) {
	b, err := os.ReadFile(filepath.Join(dir, name+".cpu"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u := cpuUse{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s.cpu: want \"kind cores\" lines, got %q", name, sc.Text())
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s.cpu: %w", name, err)
		}
		u[f[0]] += v
	}
	if _, ok := u["machine"]; !ok {
		return nil, fmt.Errorf("%s.cpu: no machine line", name)
	}
	return u, nil
}

// cpuHeader names the cells cell prints.
const cpuHeader = "cores busy: all (PostgreSQL / instances / NGINX / load)"

// cell prints "1.95 (0.80 / 0.45 / 0.19 / 0.13)": the machine's busy cores,
// then PostgreSQL's, the instances' (catwalk or the fixed-body servers),
// NGINX's and the load generator's; "–" when not measured.
func (u cpuUse) cell() string {
	if u == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f (%.2f / %.2f / %.2f / %.2f)", u["machine"], u["postgres"], u["catwalk"]+u["baseline"], u["nginx"], u["load"])
}

// pgbenchCell prints "1.97 (pgbench 0.14)": pgbench's own connections end
// with it, so PostgreSQL's share of a pgbench run is not known apart.
func (u cpuUse) pgbenchCell() string {
	if u == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f (pgbench %.2f)", u["machine"], u["pgbench"])
}
