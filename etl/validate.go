package etl

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/catwalk/reviews/ids"
)

// The reject reasons. Each names the column at fault, so a person can find
// the fix in the rejects file without reading code.
const (
	reasonNotPositive = "not a positive integer"
	reasonOutOfRange  = "out of range"
	reasonNotRating   = "not an integer in 1-5"
	reasonNotBool     = "not true or false"
	reasonNotDate     = "not epoch milliseconds"
	reasonNegative    = "negative"
	reasonNotInteger  = "not an integer"
	reasonDuplicateID = "duplicate of a row already loaded"
	reasonNUL         = "contains a NUL byte"
	reasonBadUTF8     = "not valid UTF-8"
)

// maxDateMillis is 9999-12-31T23:59:59.999Z, the last instant a date may name.
const maxDateMillis = 253402300799999

func reason(column, why string) string { return column + ": " + why }

func columnsReason(got, want int) string {
	return fmt.Sprintf("wrong number of columns: %d, want %d", got, want)
}

// parseID parses a decimal id or reference (ids.Parse) and names the reject
// reason when it is not one.
func parseID(b []byte) (int32, string) {
	n, err := ids.Parse(b)
	switch {
	case errors.Is(err, ids.ErrOutOfRange):
		return 0, reasonOutOfRange
	case err != nil:
		return 0, reasonNotPositive
	}
	return n, ""
}

// parseScore parses a rating or characteristic value: an integer in 1–5.
func parseScore(b []byte) (int16, string) {
	n, why := parseID(b)
	if why != "" || n > 5 {
		return 0, reasonNotRating
	}
	return int16(n), ""
}

func parseBool(b []byte) (bool, string) {
	switch string(b) {
	case "true":
		return true, ""
	case "false":
		return false, ""
	}
	return false, reasonNotBool
}

// parseDate parses epoch milliseconds, 0 to the end of year 9999.
func parseDate(b []byte) (int64, string) {
	if len(b) == 0 || len(b) > 15 {
		return 0, reasonNotDate
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, reasonNotDate
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxDateMillis {
		return 0, reasonNotDate
	}
	return n, ""
}

// parseHelpfulness parses a count ≥ 0.
func parseHelpfulness(b []byte) (int32, string) {
	if len(b) > 1 && b[0] == '-' {
		if _, why := parseID(b[1:]); why == "" || why == reasonOutOfRange {
			return 0, reasonNegative
		}
		return 0, reasonNotInteger
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, ""
	}
	n, why := parseID(b)
	switch why {
	case "":
		return n, ""
	case reasonOutOfRange:
		return 0, reasonOutOfRange
	}
	if len(b) > 0 && bytes.Count(b, []byte{'0'}) == len(b) {
		return 0, ""
	}
	return 0, reasonNotInteger
}

// checkText reports why PostgreSQL could not store b as text.
func checkText(b []byte) string {
	if bytes.IndexByte(b, 0) >= 0 {
		return reasonNUL
	}
	if !utf8.Valid(b) {
		return reasonBadUTF8
	}
	return ""
}
