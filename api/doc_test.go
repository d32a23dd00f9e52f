package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/api"
	"github.com/catwalk/reviews/api/internal/yamljson"
	"github.com/catwalk/reviews/handlers"
)

// loadDoc parses the document the service serves (the JSON) and checks it
// against the OpenAPI 3.1 specification's own schema.
func loadDoc(t *testing.T) (libopenapi.Document, *v3.Document, validator.Validator) {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.JSON())
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi.json is OpenAPI %q, want 3.1.0", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi.json: %v", errs)
	}
	return doc, &model.Model, v
}

// TestJSONMatchesYAML: the served JSON is openapi.yaml, converted; run
// `go generate ./api` after editing the YAML.
func TestJSONMatchesYAML(t *testing.T) {
	want, err := yamljson.Convert(api.YAML())
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !bytes.Equal(api.JSON(), want) {
		t.Fatal("api/openapi.json is not api/openapi.yaml converted: run go generate ./api")
	}
	var a, b any
	if err := json.Unmarshal(api.JSON(), &a); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(api.YAML(), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) {
		t.Fatal("openapi.json and openapi.yaml hold different documents")
	}
}

// TestDocumentIsValid: the document passes the OpenAPI 3.1 schema.
func TestDocumentIsValid(t *testing.T) {
	_, _, v := loadDoc(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
}

// example is one example of the document and the schema it illustrates.
type example struct {
	where  string
	schema *base.SchemaProxy
	value  *yaml.Node
}

// examples walks every example of the document: of media types (request
// and response bodies), parameters and headers, in paths and components.
func examples(doc *v3.Document) []example {
	var out []example
	addAll := func(where string, schema *base.SchemaProxy, one *yaml.Node, many *orderedmap.Map[string, *base.Example]) {
		if one != nil {
			out = append(out, example{where, schema, one})
		}
		for name, ex := range many.FromOldest() {
			out = append(out, example{where + " examples." + name, schema, ex.Value})
		}
	}
	content := func(where string, c *orderedmap.Map[string, *v3.MediaType]) {
		for mt, m := range c.FromOldest() {
			addAll(where+" "+mt, m.Schema, m.Example, m.Examples)
		}
	}
	param := func(where string, p *v3.Parameter) {
		addAll(where+" parameter "+p.Name, p.Schema, p.Example, p.Examples)
	}
	header := func(where string, name string, h *v3.Header) {
		addAll(where+" header "+name, h.Schema, h.Example, h.Examples)
	}
	response := func(where string, r *v3.Response) {
		content(where, r.Content)
		for name, h := range r.Headers.FromOldest() {
			header(where, name, h)
		}
	}
	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := strings.ToUpper(method) + " " + path
			for _, p := range op.Parameters {
				param(where, p)
			}
			if op.RequestBody != nil {
				content(where+" request", op.RequestBody.Content)
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				response(where+" "+code, r)
			}
		}
	}
	c := doc.Components
	for name, p := range c.Parameters.FromOldest() {
		param("components.parameters."+name, p)
	}
	for name, h := range c.Headers.FromOldest() {
		header("components.headers", name, h)
	}
	for name, r := range c.Responses.FromOldest() {
		response("components.responses."+name, r)
	}
	return out
}

func validateExample(ex example) error {
	if ex.schema == nil {
		return fmt.Errorf("no schema")
	}
	s := ex.schema.Schema()
	if s == nil {
		return fmt.Errorf("schema: %v", ex.schema.GetBuildError())
	}
	var v any
	if err := ex.value.Decode(&v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytesWithVersion(s, b, 3.1); !ok {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message)
			for _, se := range e.SchemaValidationErrors {
				msgs = append(msgs, se.FieldPath+": "+se.Reason)
			}
		}
		return fmt.Errorf("%s: %s", b, strings.Join(msgs, "; "))
	}
	return nil
}

// TestExamplesValidate: every example body, parameter and header of the
// document is valid under its schema, so a reader can trust them; and the
// check itself rejects a wrong example.
func TestExamplesValidate(t *testing.T) {
	_, doc, _ := loadDoc(t)
	all := examples(doc)
	// Every example in the document is found (a walk that missed some
	// would pass vacuously): count the example keys in the raw JSON.
	raw := strings.Count(string(api.JSON()), `"example":`)
	for _, ex := range all {
		if err := validateExample(ex); err != nil {
			t.Errorf("%s: %v", ex.where, err)
		}
	}
	single := 0
	for _, ex := range all {
		if !strings.Contains(ex.where, " examples.") {
			single++
		}
	}
	// Examples reached through a $ref are walked once per use; the
	// components walk reaches each at least once.
	if single < raw {
		t.Errorf("walked %d single examples, the document has %d", single, raw)
	}
	if len(all) < 30 {
		t.Errorf("only %d examples found", len(all))
	}

	// The validator is not vacuous: a list page with a string page number,
	// and an error without its message, fail.
	list := doc.Components.Schemas.GetOrZero("ReviewList")
	errSchema := doc.Components.Schemas.GetOrZero("Error")
	for _, bad := range []example{
		{"bad list", list, node(t, `{"product":"1","page":"0","count":5,"results":[]}`)},
		{"bad list", list, node(t, `{"product":"1","page":0,"count":5,"results":[],"extra":1}`)},
		{"bad error", errSchema, node(t, `{"field":"page"}`)},
	} {
		if validateExample(bad) == nil {
			t.Errorf("%s %s passed its schema", bad.where, nodeJSON(bad.value))
		}
	}
}

func node(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

func nodeJSON(n *yaml.Node) string {
	var v any
	n.Decode(&v)
	b, _ := json.Marshal(v)
	return string(b)
}

// loaderToken is the LOADERIO_TOKEN of the tests; the document names its
// routes /loaderio-{loaderio_id}/ and /loaderio-{loaderio_id}.txt.
const loaderToken = "loaderio-0123456789abcdef"

// docPath maps a router path to the document's.
func docPath(p string) string {
	return strings.Replace(p, loaderToken, "loaderio-{loaderio_id}", 1)
}

// TestRoutesDocumented: every route the router serves (with every optional
// route turned on) is in the document with its method, and every
// operation of the document is a route (OPTIONS is answered by the router
// for every route; GET /reviews/, served by Router's fast path, is
// documented with GET /reviews, as validators match it there).
func TestRoutesDocumented(t *testing.T) {
	_, doc, _ := loadDoc(t)
	h := handlers.New(nil, nil, handlers.Config{
		LoaderIOToken: loaderToken,
		Metrics:       func(*fasthttp.RequestCtx) {},
	}, nil)
	h.Router()
	routes := h.Routes()
	if len(routes) == 0 {
		t.Fatal("the router lists no routes")
	}
	served := map[string]bool{}
	for method, paths := range routes {
		for _, p := range paths {
			served[method+" "+docPath(p)] = true
		}
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("route %s is not in api/openapi.yaml", r)
		}
	}
	for d := range documented {
		method, path, _ := strings.Cut(d, " ")
		if method == "OPTIONS" {
			if !served["GET "+path] && !served["POST "+path] && !served["PUT "+path] {
				t.Errorf("%s is documented but %s is no route", d, path)
			}
			continue
		}
		if !served[d] {
			t.Errorf("%s is documented but the router has no such route", d)
		}
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range served {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("routes: %v", keys)
}
