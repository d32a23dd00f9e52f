package schema

import (
	"strconv"

	"github.com/catwalk/reviews/jsontext"
)

// A review's photos column is the JSON array the API sends, stored ready to
// serve: [{"id":N,"url":"…"},…] in photo id order, [] without photos. Three
// writers build it (the POST /reviews statement, the ETL's merge while
// streaming and the ETL's fill after the load) and a reader compares it
// byte for byte, so its shape lives here once, in SQL and in Go, and
// photos_test.go holds the two to the same bytes.

// PhotosJSONAgg is the SQL aggregate that builds the photos array over rows
// with columns id and url; NULL over no rows (callers coalesce to '[]').
// to_json escapes the URL like jsontext.AppendString.
const PhotosJSONAgg = `'[' || string_agg('{"id":' || id || ',"url":' || to_json(url)::text || '}', ',' ORDER BY id) || ']'`

// AppendPhotosJSON appends the photos array of n photos to b, the same
// bytes as PhotosJSONAgg (or '[]' for none); photo(i) returns the i-th
// photo, in ascending id order.
func AppendPhotosJSON(b []byte, n int, photo func(i int) (id int32, url []byte)) []byte {
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		id, url := photo(i)
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, `,"url":`...)
		b = jsontext.AppendString(b, url)
		b = append(b, '}')
	}
	return append(b, ']')
}
