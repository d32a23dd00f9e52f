// Package envflag fills every flag the command line did not set from an
// environment variable of the same name: -database-url ← DATABASE_URL.
package envflag

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName is the variable that backs a flag: upper case, '-' and '.' → '_'.
func envName(flagName string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(flagName))
}

// Parse parses args into fs, then applies the environment to unset flags.
// A bad value in the environment is an error naming the variable, also
// printed to fs.Output() as the flag package does for bad flags.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %v", envName(f.Name), v, e)
				fmt.Fprintln(fs.Output(), err)
			}
		}
	})
	return err
}

// Usage prints a subcommand's usage with the environment variable of each flag.
func Usage(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\nFlags (each falls back to the environment variable in brackets):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  -%s %s\t[%s]\n    \t%s", f.Name, name, envName(f.Name), usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
}
