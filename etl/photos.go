package etl

import (
	"cmp"
	"slices"
	"strconv"
)

// photoMerge reads reviews_photos.csv alongside reviews.csv so each review
// is copied with its photos JSON already in place, with memory for one
// review's photos. Every photo row is judged as the photos pass will judge
// it (the kept reviews are known by then); the merge works while the kept
// photos come in review id order, as in every export seen. When they do
// not, sorted turns false and the load fills the photos in with one UPDATE.
type photoMerge struct {
	src    *source
	kept   idTable[bool] // photo ids kept so far
	sorted bool
	sum    uint64 // photoHash of every embedded photo
	l      *loader

	// The next kept photo row, not yet embedded.
	have    bool
	id, rid int32
	url     []byte

	batch []photo
	urls  []byte
	json  []byte
}

type photo struct {
	id       int32
	from, to int // url bytes in urls
}

func (l *loader) newPhotoMerge() (*photoMerge, error) {
	src, err := l.open(PhotosFile, "", false)
	if err != nil {
		return nil, err
	}
	return &photoMerge{src: src, sorted: true, l: l}, nil
}

func (m *photoMerge) close() { m.src.close() }

// peek makes the next kept photo row current.
func (m *photoMerge) peek() error {
	reviewKept := func(rid int32) bool { return m.l.reviews.get(rid) != 0 }
	for !m.have {
		ok, err := m.src.next()
		if err != nil || !ok {
			return err
		}
		f := m.src.rec.Fields
		id, rid, why := checkPhoto(f, &m.kept, reviewKept)
		if why != "" {
			continue
		}
		m.kept.set(id, true)
		m.have, m.id, m.rid = true, id, rid
		m.url = append(m.url[:0], f[2]...)
	}
	return nil
}

var emptyArray = []byte("[]")

// photosOf returns the photos JSON of kept review id, which must come after
// every review id asked before.
func (m *photoMerge) photosOf(id int32) ([]byte, error) {
	if !m.sorted {
		return emptyArray, nil
	}
	m.batch = m.batch[:0]
	m.json = m.json[:0]
	urls := m.urls[:0]
	defer func() { m.urls = urls[:0] }()
	for {
		if err := m.peek(); err != nil {
			return nil, err
		}
		if !m.have || m.rid > id {
			break
		}
		if m.rid < id { // a photo of an earlier review: not in order
			m.sorted = false
			return emptyArray, nil
		}
		m.have = false
		m.sum += photoHash(m.id, m.rid)
		from := len(urls)
		urls = append(urls, m.url...)
		m.batch = append(m.batch, photo{id: m.id, from: from, to: len(urls)})
	}
	if len(m.batch) == 0 {
		return emptyArray, nil
	}
	slices.SortFunc(m.batch, func(a, b photo) int { return cmp.Compare(a.id, b.id) })
	m.json = append(m.json, '[')
	for i, p := range m.batch {
		if i > 0 {
			m.json = append(m.json, ',')
		}
		m.json = append(m.json, `{"id":`...)
		m.json = strconv.AppendInt(m.json, int64(p.id), 10)
		m.json = append(m.json, `,"url":`...)
		m.json = appendJSONString(m.json, urls[p.from:p.to])
		m.json = append(m.json, '}')
	}
	m.json = append(m.json, ']')
	return m.json, nil
}

// appendJSONString appends s as a JSON string escaped exactly as
// PostgreSQL's to_json(text) escapes it, so the ETL, the write path and SQL
// produce the same bytes.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}
