// Package api holds the service's API reference: the OpenAPI 3.1 document
// openapi.yaml (written by hand, read by people and tools) and openapi.json,
// the same document as JSON, which the service serves at GET /openapi.json.
//
// The JSON is generated from the YAML at build time (go generate ./api),
// not at start: the binary needs no YAML parser and serving it costs a
// copy of ready bytes. TestJSONMatchesYAML fails when the two differ.
package api

import _ "embed"

//go:generate go run ./internal/genjson

//go:embed openapi.yaml
var yamlDoc []byte

//go:embed openapi.json
var jsonDoc []byte

// JSON is the OpenAPI document as JSON. Callers must not modify it.
func JSON() []byte { return jsonDoc }

// YAML is the OpenAPI document as written. Callers must not modify it.
func YAML() []byte { return yamlDoc }
