package main

import (
	"encoding/json"

	"github.com/catwalk/reviews/bench/loadhtml"
)

// writeHTML renders s as bench/loadreport would from its JSON: through the
// JSON, so the page shows exactly what -json holds.
func (s *Summary) writeHTML(path string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	h, err := loadhtml.Parse(b)
	if err != nil {
		return err
	}
	return loadhtml.WriteFile(path, h)
}
