package pglocal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// StartReplica makes a streaming standby of primary in dataDir, which must
// be empty or absent: pg_basebackup copies the primary (as the cluster's
// owner) and writes standby.signal and primary_conninfo (-R), then the
// standby starts on a free loopback port, serving read-only queries while
// it replays the primary's WAL.
//
// The primary needs what initdb and the defaults give it: wal_level=replica,
// max_wal_senders > 0 and a `host replication` entry for 127.0.0.1 in
// pg_hba.conf (initdb --auth=trust writes one).
func StartReplica(ctx context.Context, primary *Cluster, dataDir string, opt Options) (*Cluster, error) {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: dataDir, bin: primary.bin, log: opt.Log}
	if c.log == "" {
		c.log = dataDir + ".log"
	}
	if err := c.prepareOwner(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dataDir); err != nil {
		return nil, err
	} else if len(entries) > 0 {
		return nil, fmt.Errorf("replica data directory %s is not empty", dataDir)
	}
	tool, err := toolPath(c.bin, "pg_basebackup")
	if err != nil {
		return nil, err
	}
	backup := c.command(ctx, "pg_basebackup",
		"-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port), "-U", "postgres",
		"-D", dataDir, "-X", "stream", "-R", "--checkpoint=fast", "--no-sync")
	backup.Path = tool
	if out, err := backup.CombinedOutput(); err != nil {
		hint := ""
		if bytes.Contains(out, []byte("pg_hba.conf")) {
			hint = "\nthe primary's pg_hba.conf needs `host replication all 127.0.0.1/32 trust` (initdb --auth=trust writes it)"
		}
		return nil, fmt.Errorf("pg_basebackup from port %d: %v\n%s%s", primary.Port, err, out, hint)
	}
	if err := c.startOnFreePort(ctx, opt); err != nil {
		return nil, err
	}
	return c, nil
}

// toolPath finds a client binary of the same installation as the server:
// beside pg_ctl, beside the file pg_ctl links to (Debian links only the
// server binaries into PATH), or on PATH.
func toolPath(bin, name string) (string, error) {
	if p := filepath.Join(bin, name); fileExists(p) {
		return p, nil
	}
	if real, err := filepath.EvalSymlinks(filepath.Join(bin, "pg_ctl")); err == nil {
		if p := filepath.Join(filepath.Dir(real), name); fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found beside %s or on PATH: install the PostgreSQL client tools (Debian: apt-get install postgresql-client)", name, bin)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
