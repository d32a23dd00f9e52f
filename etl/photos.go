package etl

import (
	"cmp"
	"slices"

	"github.com/catwalk/reviews/schema"
)

// photoMerge reads reviews_photos.csv alongside reviews.csv so each review
// is copied with its photos JSON already in place, holding only a few rows.
// It works while the reviews and their photos come in review id order, as
// in every export seen; a photo row far out of that order (a dangling
// reference, say) is set aside and does not stop it. When the files are not
// in order, sorted turns false and the load fills the photos in with one
// UPDATE instead. The photos pass checks the merge: the checksums of the
// photos embedded and of the photos loaded must agree.
type photoMerge struct {
	src    *source
	l      *loader
	sorted bool
	sum    uint64        // photoHash of every embedded photo
	kept   idTable[bool] // photo ids embedded

	ahead    []photoRow // the next rows of the file, in order
	eof      bool
	outliers map[int32][]photoRow // rows set aside, by review id
	nOut     int

	batch []photoRow
	json  []byte
}

type photoRow struct {
	id, rid int32
	url     []byte
}

// lookahead is the number of rows read ahead to tell an outlier from the
// next review's photo.
const lookahead = 16

// maxOutliers bounds the rows set aside (and so the memory) before the
// merge gives up; a variable for the tests.
var maxOutliers = 1 << 16

func (l *loader) newPhotoMerge() (*photoMerge, error) {
	src, err := l.open(PhotosFile, "", false)
	if err != nil {
		return nil, err
	}
	return &photoMerge{src: src, l: l, sorted: true, outliers: map[int32][]photoRow{}}, nil
}

func (m *photoMerge) close() { m.src.close() }

// fill reads rows until lookahead rows are ahead or the file ends. Rows
// that cannot be loaded whatever the reviews are skipped.
func (m *photoMerge) fill() error {
	for !m.eof && len(m.ahead) < lookahead {
		ok, err := m.src.next()
		if err != nil {
			return err
		}
		if !ok {
			m.eof = true
			return nil
		}
		f := m.src.rec.Fields
		id, why := parseID(f[0])
		if why != "" {
			continue
		}
		rid, why := parseID(f[1])
		if why != "" || checkText(f[2]) != "" {
			continue
		}
		n := len(m.ahead)
		if n < cap(m.ahead) {
			m.ahead = m.ahead[:n+1] // reuse the row's url buffer
		} else {
			m.ahead = append(m.ahead, photoRow{})
		}
		r := &m.ahead[n]
		r.id, r.rid, r.url = id, rid, append(r.url[:0], f[2]...)
	}
	return nil
}

// pop removes the first row ahead and returns a copy of it valid until the
// next fill.
func (m *photoMerge) pop() photoRow {
	first := m.ahead[0]
	copy(m.ahead, m.ahead[1:])
	m.ahead[len(m.ahead)-1] = first // keep its buffer for reuse
	m.ahead = m.ahead[:len(m.ahead)-1]
	return first
}

func (m *photoMerge) claim(p photoRow) {
	if m.kept.get(p.id) {
		return // a repeated photo id: rejected by the photos pass
	}
	m.kept.set(p.id, true)
	m.sum += photoHash(p.id, p.rid)
	m.batch = append(m.batch, photoRow{id: p.id, rid: p.rid, url: append([]byte(nil), p.url...)})
}

var emptyArray = []byte("[]")

// photosOf returns the photos JSON of kept review id, which must come after
// every review id asked before.
func (m *photoMerge) photosOf(id int32) ([]byte, error) {
	if !m.sorted {
		return emptyArray, nil
	}
	m.batch = m.batch[:0]
	if set, ok := m.outliers[id]; ok {
		for _, p := range set {
			m.claim(p)
		}
		delete(m.outliers, id)
	}
	for {
		if err := m.fill(); err != nil {
			return nil, err
		}
		if len(m.ahead) == 0 {
			break
		}
		h := m.ahead[0]
		switch {
		case h.rid < id:
			m.pop()
			if m.l.reviews.get(h.rid) != 0 {
				// A photo of a review already copied: not in order.
				m.sorted = false
				return emptyArray, nil
			}
			continue // its review was not kept: rejected by the photos pass
		case h.rid == id:
			m.claim(m.pop())
			continue
		}
		// h belongs to a later review, unless it is out of order: then a
		// row after it has a smaller review id.
		outlier := false
		for _, r := range m.ahead[1:] {
			if r.rid < h.rid {
				outlier = true
				break
			}
		}
		if !outlier {
			break
		}
		p := m.pop()
		m.outliers[p.rid] = append(m.outliers[p.rid], photoRow{id: p.id, rid: p.rid, url: append([]byte(nil), p.url...)})
		if m.nOut++; m.nOut > maxOutliers {
			m.sorted = false
			return emptyArray, nil
		}
	}
	if len(m.batch) == 0 {
		return emptyArray, nil
	}
	slices.SortStableFunc(m.batch, func(a, b photoRow) int { return cmp.Compare(a.id, b.id) })
	m.json = schema.AppendPhotosJSON(m.json[:0], len(m.batch), func(i int) (int32, []byte) {
		return m.batch[i].id, m.batch[i].url
	})
	return m.json, nil
}
