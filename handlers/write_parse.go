package handlers

import (
	"bytes"
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/queries"
)

// The limits of API.md's POST /reviews table. Characters are code points.
const (
	maxSummaryChars = 60
	minBodyChars    = 50
	maxBodyChars    = 1000
	maxNameChars    = 60
	minEmailChars   = 3
	maxEmailChars   = 254
	maxPhotos       = 5
	maxPhotoURLLen  = 2048 // bytes
)

var (
	errNotUTF8     = &Error{Status: fasthttp.StatusBadRequest, Message: "the body is not valid UTF-8"}
	errMalformed   = &Error{Status: fasthttp.StatusBadRequest, Message: "the body is not valid JSON"}
	errNotAnObject = &Error{Status: fasthttp.StatusBadRequest, Message: "the body must be a JSON object"}
)

// parseNewReview validates a POST /reviews body as API.md says: fields are
// checked in the order of its table and the first broken rule is reported.
// Everything that does not need the database is checked here; whether the
// characteristics are the product's is checked by the insert itself.
func parseNewReview(body []byte) (*queries.NewReview, error) {
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if json.Valid(body) {
			return nil, errNotAnObject
		}
		return nil, errMalformed
	}
	// A map keeps the last of duplicated keys and ignores unknown ones.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, errMalformed
	}
	r := &queries.NewReview{}
	var err error
	var n int64
	if n, err = intField(fields, "product_id", 1, 1<<31-1); err != nil {
		return nil, err
	}
	r.ProductID = int32(n)
	if n, err = intField(fields, "rating", 1, 5); err != nil {
		return nil, err
	}
	r.Rating = int16(n)
	if r.Summary, err = stringField(fields, "summary", 0, maxSummaryChars, true); err != nil {
		return nil, err
	}
	if r.Body, err = stringField(fields, "body", minBodyChars, maxBodyChars, false); err != nil {
		return nil, err
	}
	if r.Recommend, err = boolField(fields, "recommend"); err != nil {
		return nil, err
	}
	if r.Name, err = stringField(fields, "name", 1, maxNameChars, false); err != nil {
		return nil, err
	}
	if r.Email, err = emailField(fields); err != nil {
		return nil, err
	}
	if r.Photos, err = photosField(fields); err != nil {
		return nil, err
	}
	if r.CharacteristicIDs, r.Values, err = characteristicsField(fields); err != nil {
		return nil, err
	}
	return r, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func required(field string) error { return invalid(field, field+" is required") }

// jsonInt reads an integer given as a JSON number or a decimal string,
// with parseID's rules: digits only, no sign, fraction or exponent (every
// range here starts at 1 or more).
func jsonInt(raw json.RawMessage, min, max int64) (int64, bool) {
	digits := []byte(raw)
	if len(digits) >= 2 && digits[0] == '"' && digits[len(digits)-1] == '"' {
		digits = digits[1 : len(digits)-1] // a string of digits has no escapes to decode
	}
	n, ok := parseID(digits)
	return int64(n), ok && min <= int64(n) && int64(n) <= max
}

func intField(fields map[string]json.RawMessage, field string, min, max int64) (int64, error) {
	raw, ok := fields[field]
	if !ok || isNull(raw) {
		return 0, required(field)
	}
	n, ok := jsonInt(raw, min, max)
	if !ok {
		return 0, invalid(field, field+" must be an integer from "+itoa(min)+" to "+itoa(max))
	}
	return n, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// jsonString decodes a JSON string; ok is false for any other JSON value.
// A string with an unpaired UTF-16 surrogate escape is not decoded either
// (see loneSurrogate).
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' || loneSurrogate(raw) {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// stringField reads a string of min..max code points without NUL. An
// optional field that is absent or null is "".
func stringField(fields map[string]json.RawMessage, field string, min, max int, optional bool) (string, error) {
	raw, ok := fields[field]
	if !ok || isNull(raw) {
		if optional {
			return "", nil
		}
		return "", required(field)
	}
	if len(raw) > 0 && raw[0] == '"' && loneSurrogate(raw) {
		return "", invalid(field, field+" must not contain unpaired UTF-16 surrogates")
	}
	s, ok := jsonString(raw)
	if !ok {
		return "", invalid(field, field+" must be a string")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", invalid(field, field+" must not contain NUL characters")
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		if min == 0 {
			return "", invalid(field, field+" must be at most "+itoa(int64(max))+" characters")
		}
		return "", invalid(field, field+" must be "+itoa(int64(min))+" to "+itoa(int64(max))+" characters")
	}
	return s, nil
}

// loneSurrogate reports whether the JSON string token raw holds a \\u
// escape of a UTF-16 surrogate that is not part of a high-low pair. The
// JSON decoder turns such an escape into U+FFFD, so the text stored would
// not be the text sent; like NUL, it is refused instead. (A surrogate
// cannot arrive unescaped: the body is checked to be valid UTF-8 first.)
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) || raw[i+1] != 'u' {
			i++ // a two-character escape: skip the escaped character
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return false // malformed: the decoder rejects it
		}
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low surrogate with no high one before it
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(raw, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func boolField(fields map[string]json.RawMessage, field string) (bool, error) {
	raw, ok := fields[field]
	if !ok || isNull(raw) {
		return false, required(field)
	}
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalid(field, field+" must be true or false")
}

// emailField: 3–254 characters, exactly one @ with text on both sides.
func emailField(fields map[string]json.RawMessage) (string, error) {
	s, err := stringField(fields, "email", minEmailChars, maxEmailChars, false)
	if err != nil {
		return "", err
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", invalid("email", "email must have one @ with text on both sides")
	}
	return s, nil
}

// photosField: absent or null is none; else an array of at most five
// absolute http or https URLs of at most 2048 bytes.
func photosField(fields map[string]json.RawMessage) ([]string, error) {
	raw, ok := fields["photos"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, invalid("photos", "photos must be an array of URLs")
	}
	if len(items) > maxPhotos {
		return nil, invalid("photos", "photos may hold at most 5 URLs")
	}
	photos := make([]string, 0, len(items))
	for _, item := range items {
		if len(item) > 0 && item[0] == '"' && loneSurrogate(item) {
			return nil, invalid("photos", "photos must not contain unpaired UTF-16 surrogates")
		}
		s, ok := jsonString(item)
		if !ok || !isPhotoURL(s) {
			return nil, invalid("photos", "each photo must be an absolute http or https URL of at most 2048 bytes")
		}
		photos = append(photos, s)
	}
	return photos, nil
}

func isPhotoURL(s string) bool {
	if len(s) > maxPhotoURLLen || strings.IndexByte(s, 0) >= 0 {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return false
	}
	return strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")
}

// characteristicsField reads {"<characteristic id>": 1..5, …}, sorted by id
// (the order the statement locks and updates them in). Whether the ids are
// exactly the product's is checked in the database.
func characteristicsField(fields map[string]json.RawMessage) ([]int32, []int16, error) {
	const field = "characteristics"
	raw, ok := fields[field]
	if !ok || isNull(raw) {
		return nil, nil, required(field)
	}
	var m map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, nil, invalid(field, "characteristics must be an object of characteristic ids to ratings")
	}
	type pair struct {
		id    int32
		value int16
	}
	pairs := make([]pair, 0, len(m))
	for k, v := range m {
		id, ok := parseID([]byte(k))
		if !ok {
			return nil, nil, invalid(field, "characteristics keys must be characteristic ids (integers from 1 to 2147483647)")
		}
		n, ok := jsonInt(v, 1, 5)
		if !ok {
			return nil, nil, invalid(field, "characteristics values must be integers from 1 to 5")
		}
		pairs = append(pairs, pair{id, int16(n)})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(a.id, b.id) })
	ids := make([]int32, len(pairs))
	values := make([]int16, len(pairs))
	for i, p := range pairs {
		if i > 0 && pairs[i-1].id == p.id {
			return nil, nil, invalid(field, "characteristics names one characteristic twice")
		}
		ids[i], values[i] = p.id, p.value
	}
	return ids, values, nil
}
