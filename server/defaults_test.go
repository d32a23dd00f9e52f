package server

import (
	"testing"
	"time"
)

// A zero Config gets Defaults' value where zero has no meaning of its own,
// and keeps zero where it turns a feature off.
func TestSetDefaults(t *testing.T) {
	var cfg Config
	cfg.setDefaults()
	d := Defaults()
	for name, pair := range map[string][2]any{
		"ReadTimeout":     {cfg.ReadTimeout, d.ReadTimeout},
		"WriteTimeout":    {cfg.WriteTimeout, d.WriteTimeout},
		"IdleTimeout":     {cfg.IdleTimeout, d.IdleTimeout},
		"ShutdownTimeout": {cfg.ShutdownTimeout, d.ShutdownTimeout},
		"CacheTTL":        {cfg.CacheTTL, d.CacheTTL},
		"WarmWait":        {cfg.WarmWait, d.WarmWait},
		"MaxBodyBytes":    {cfg.MaxBodyBytes, d.MaxBodyBytes},
		"MaxHeaderBytes":  {cfg.MaxHeaderBytes, d.MaxHeaderBytes},
		"CacheMaxBytes":   {cfg.CacheMaxBytes, d.CacheMaxBytes},
		"MaxConns":        {cfg.MaxConns, d.MaxConns},
		// zero means off
		"DrainDelay":         {cfg.DrainDelay, time.Duration(0)},
		"SlowRequest":        {cfg.SlowRequest, time.Duration(0)},
		"CacheControlMaxAge": {cfg.CacheControlMaxAge, time.Duration(0)},
		"DBMaxConns":         {cfg.DBMaxConns, 0},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	if cfg.Log == nil {
		t.Error("Log left nil")
	}
}
