package etl

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var reviewColumns = []string{"id", "product_id", "rating", "date", "summary", "body", "recommend",
	"reported", "reviewer_name", "reviewer_email", "response", "helpfulness", "photos", "via_api"}

// loadReviews copies the valid reviews, each with its photos embedded when
// reviews_photos.csv can be merged in, and counts ratings and
// recommendations per product as it goes.
func (l *loader) loadReviews(ctx context.Context, tx pgx.Tx) error {
	src, err := l.open(ReviewsFile, "reviews", true)
	if err != nil {
		return err
	}
	merge, err := l.newPhotoMerge()
	if err != nil {
		src.close()
		return err
	}
	seen := func(id int32) bool { return l.reviews.get(id) != 0 }
	err = copyFrom(ctx, tx, "load_reviews", reviewColumns, func(cw *copyWriter) error {
		var last int32
		for {
			ok, err := src.next()
			if err != nil {
				return err
			}
			if !ok {
				return l.feed.end(ctx)
			}
			f := src.rec.Fields
			if why := checkReview(f, seen); why != "" {
				if err := src.reject(why); err != nil {
					return err
				}
				continue
			}
			id, _ := parseID(f[0])
			if id <= last {
				merge.sorted = false
				if err := l.feed.unsorted(ctx); err != nil {
					return err
				}
			}
			last = id
			product, _ := parseID(f[1])
			rating, _ := parseScore(f[2])
			date, _ := parseDate(f[3])
			recommend, _ := parseBool(f[6])
			reported, _ := parseBool(f[7])
			helpfulness, _ := parseHelpfulness(f[11])

			v := product
			if reported {
				v = -product
			}
			l.reviews.set(id, v)
			if err := l.feed.kept(ctx, id, v); err != nil {
				return err
			}
			m := l.products.get(product)
			m.hasReview = true
			if !reported {
				m.ratings[rating-1]++
				if recommend {
					m.recTrue++
				} else {
					m.recFalse++
				}
			}
			l.products.set(product, m)
			src.kept()

			cw.row(len(reviewColumns))
			cw.int4(id)
			cw.int4(product)
			cw.int2(rating)
			cw.timestamptzMillis(date)
			cw.text(f[4])
			cw.text(f[5])
			cw.boolean(recommend)
			cw.boolean(reported)
			cw.text(f[8])
			cw.text(f[9])
			if isNull(f[10]) {
				cw.null()
			} else {
				cw.text(f[10])
			}
			cw.int4(helpfulness)
			photos, err := merge.photosOf(id)
			if err != nil {
				return err
			}
			cw.text(photos)
			cw.boolean(false) // via_api: a loaded row
		}
	})
	cerr := src.close()
	merge.close()
	if err != nil {
		return err
	}
	l.sorted = merge.sorted
	l.mergeSum = merge.sum
	return cerr
}

func isNull(b []byte) bool { return string(b) == "null" }

// checkReview validates a reviews.csv row of the right width.
// seen reports whether a row with that id was kept already.
func checkReview(f [][]byte, seen func(int32) bool) string {
	id, why := parseID(f[0])
	if why != "" {
		return reason("id", why)
	}
	if seen(id) {
		return reason("id", reasonDuplicateID)
	}
	if _, why := parseID(f[1]); why != "" {
		return reason("product_id", why)
	}
	if _, why := parseScore(f[2]); why != "" {
		return reason("rating", why)
	}
	if _, why := parseDate(f[3]); why != "" {
		return reason("date", why)
	}
	for _, c := range []struct {
		i    int
		name string
	}{{4, "summary"}, {5, "body"}} {
		if why := checkText(f[c.i]); why != "" {
			return reason(c.name, why)
		}
	}
	if _, why := parseBool(f[6]); why != "" {
		return reason("recommend", why)
	}
	if _, why := parseBool(f[7]); why != "" {
		return reason("reported", why)
	}
	for _, c := range []struct {
		i    int
		name string
	}{{8, "reviewer_name"}, {9, "reviewer_email"}, {10, "response"}} {
		if why := checkText(f[c.i]); why != "" {
			return reason(c.name, why)
		}
	}
	if _, why := parseHelpfulness(f[11]); why != "" {
		return reason("helpfulness", why)
	}
	return ""
}

// checkPhoto validates a reviews_photos.csv row against the kept reviews
// (reviewKept says whether its review was kept) and the photos kept so far.
func checkPhoto(f [][]byte, kept *idTable[bool], reviewKept func(int32) bool) (id, rid int32, why string) {
	id, why = parseID(f[0])
	if why != "" {
		return 0, 0, reason("id", why)
	}
	if kept.get(id) {
		return 0, 0, reason("id", reasonDuplicateID)
	}
	rid, why = parseID(f[1])
	if why != "" {
		return 0, 0, reason("review_id", why)
	}
	if why := checkText(f[2]); why != "" {
		return 0, 0, reason("url", why)
	}
	if !reviewKept(rid) {
		return 0, 0, reason("review_id", "no such review")
	}
	return id, rid, ""
}

// photoHash mixes a kept photo into a checksum, so the merged photos can be
// compared with the loaded ones.
func photoHash(id, rid int32) uint64 {
	x := uint64(uint32(id))<<32 | uint64(uint32(rid))
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

var photoColumns = []string{"id", "review_id", "url"}

// loadPhotos copies the valid photos.
func (l *loader) loadPhotos(ctx context.Context, tx pgx.Tx) error {
	src, err := l.open(PhotosFile, "reviews_photos", true)
	if err != nil {
		return err
	}
	reviewKept := func(rid int32) bool { return l.reviews.get(rid) != 0 }
	err = copyFrom(ctx, tx, "load_reviews_photos", photoColumns, func(cw *copyWriter) error {
		for {
			ok, err := src.next()
			if err != nil || !ok {
				return err
			}
			f := src.rec.Fields
			id, rid, why := checkPhoto(f, &l.photos, reviewKept)
			if why != "" {
				if err := src.reject(why); err != nil {
					return err
				}
				continue
			}
			l.photos.set(id, true)
			l.photosSum += photoHash(id, rid)
			cw.row(3)
			cw.int4(id)
			cw.int4(rid)
			cw.text(f[2])
			src.kept()
		}
	})
	cerr := src.close()
	if err != nil {
		return err
	}
	l.photos = idTable[bool]{} // not needed any more
	return cerr
}

// checkCharacteristic validates a characteristics.csv row.
func checkCharacteristic(f [][]byte, chars *idTable[characteristic]) (id, product int32, why string) {
	id, why = parseID(f[0])
	if why != "" {
		return 0, 0, reason("id", why)
	}
	if chars.get(id).product != 0 {
		return 0, 0, reason("id", reasonDuplicateID)
	}
	product, why = parseID(f[1])
	if why != "" {
		return 0, 0, reason("product_id", why)
	}
	if why := checkText(f[2]); why != "" {
		return 0, 0, reason("name", why)
	}
	return id, product, ""
}

// checkCharacteristics is the first pass over characteristics.csv: it
// decides which rows are kept; the rows are copied after the values are
// summed, in loadCharacteristics.
func (l *loader) checkCharacteristics(ctx context.Context) error {
	src, err := l.open(CharacteristicsFile, "characteristics (check)", true)
	if err != nil {
		return err
	}
	for {
		ok, err := src.next()
		if err != nil {
			src.close()
			return err
		}
		if !ok {
			break
		}
		id, product, why := checkCharacteristic(src.rec.Fields, &l.chars)
		if why != "" {
			if err := src.reject(why); err != nil {
				src.close()
				return err
			}
			continue
		}
		l.chars.set(id, characteristic{product: product})
		src.kept()
	}
	return src.close()
}

var charReviewColumns = []string{"id", "characteristic_id", "review_id", "value"}

// loadCharacteristicReviews copies the valid values and sums them per
// characteristic over non-reported reviews. lookup tells what is known of a
// review (zero: not kept); it may wait for the reviews pass.
func (l *loader) loadCharacteristicReviews(ctx context.Context, tx pgx.Tx, lookup func(int32) (signedProduct, error)) error {
	// A restarted attempt starts from nothing.
	*l.stats(CharacteristicReviewsFile) = FileStats{File: CharacteristicReviewsFile}
	l.charRevs = idTable[bool]{}
	for i := range l.chars.dense {
		l.chars.dense[i].sum, l.chars.dense[i].count = 0, 0
	}
	for id, c := range l.chars.sparse {
		c.sum, c.count = 0, 0
		l.chars.sparse[id] = c
	}
	src, err := l.open(CharacteristicReviewsFile, "characteristic_reviews", true)
	if err != nil {
		return err
	}
	err = copyFrom(ctx, tx, "load_characteristic_reviews", charReviewColumns, func(cw *copyWriter) error {
		for {
			ok, err := src.next()
			if err != nil || !ok {
				return err
			}
			f := src.rec.Fields
			id, cid, rid, value, why, err := l.checkCharacteristicReview(f, lookup)
			if err != nil {
				return err
			}
			if why != "" {
				if err := src.reject(why); err != nil {
					return err
				}
				continue
			}
			l.charRevs.set(id, true)
			if r, _ := lookup(rid); r > 0 { // not reported
				c := l.chars.get(cid)
				c.sum += int64(value)
				c.count++
				l.chars.set(cid, c)
			}
			cw.row(4)
			cw.int4(id)
			cw.int4(cid)
			cw.int4(rid)
			cw.int2(value)
			src.kept()
		}
	})
	cerr := src.close()
	if err != nil {
		return err
	}
	l.charRevs = idTable[bool]{}
	return cerr
}

func (l *loader) checkCharacteristicReview(f [][]byte, lookup func(int32) (signedProduct, error)) (id, cid, rid int32, value int16, why string, err error) {
	id, why = parseID(f[0])
	if why != "" {
		return 0, 0, 0, 0, reason("id", why), nil
	}
	if l.charRevs.get(id) {
		return 0, 0, 0, 0, reason("id", reasonDuplicateID), nil
	}
	cid, why = parseID(f[1])
	if why != "" {
		return 0, 0, 0, 0, reason("characteristic_id", why), nil
	}
	rid, why = parseID(f[2])
	if why != "" {
		return 0, 0, 0, 0, reason("review_id", why), nil
	}
	value, why = parseScore(f[3])
	if why != "" {
		return 0, 0, 0, 0, reason("value", why), nil
	}
	r, err := lookup(rid)
	if err != nil {
		return 0, 0, 0, 0, "", err
	}
	if r == 0 {
		return 0, 0, 0, 0, reason("review_id", "no such review"), nil
	}
	c := l.chars.get(cid)
	if c.product == 0 {
		return 0, 0, 0, 0, reason("characteristic_id", "no such characteristic"), nil
	}
	if rp := max(r, -r); rp != c.product {
		return 0, 0, 0, 0, reason("characteristic_id", fmt.Sprintf("characteristic of product %d, review of product %d", c.product, rp)), nil
	}
	return id, cid, rid, value, "", nil
}

var charColumns = []string{"id", "product_id", "name", "value_sum", "value_count"}

// loadCharacteristics is the second pass over characteristics.csv: it
// copies the rows the first pass kept, with their sums.
func (l *loader) loadCharacteristics(ctx context.Context, tx pgx.Tx) error {
	src, err := l.open(CharacteristicsFile, "characteristics", false)
	if err != nil {
		return err
	}
	err = copyFrom(ctx, tx, "load_characteristics", charColumns, func(cw *copyWriter) error {
		for {
			ok, err := src.next()
			if err != nil || !ok {
				return err
			}
			f := src.rec.Fields
			id, why := parseID(f[0])
			if why != "" {
				continue
			}
			c := l.chars.get(id)
			if c.product == 0 || c.written {
				continue
			}
			// The kept row is the first valid row with this id.
			if _, product, why := checkCharacteristic(f, &idTable[characteristic]{}); why != "" || product != c.product {
				continue
			}
			c.written = true
			l.chars.set(id, c)
			cw.row(5)
			cw.int4(id)
			cw.int4(c.product)
			cw.text(f[2])
			cw.int8(c.sum)
			cw.int4(c.count)
		}
	})
	cerr := src.close()
	if err != nil {
		return err
	}
	l.chars = idTable[characteristic]{}
	return cerr
}

var metaColumns = []string{"product_id", "rating_1", "rating_2", "rating_3", "rating_4", "rating_5", "recommend_false", "recommend_true"}

// loadProductMeta copies the per-product counts summed while streaming.
func (l *loader) loadProductMeta(ctx context.Context, tx pgx.Tx) error {
	err := copyFrom(ctx, tx, "load_product_meta", metaColumns, func(cw *copyWriter) error {
		l.products.each(func(id int32, m meta) {
			cw.row(8)
			cw.int4(id)
			for _, n := range m.ratings {
				cw.int4(n)
			}
			cw.int4(m.recFalse)
			cw.int4(m.recTrue)
		})
		return nil
	})
	l.products = idTable[meta]{}
	return err
}
