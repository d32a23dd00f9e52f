package gen

import (
	"math/rand/v2"
	"strconv"
)

// row is one CSV row being built: encoded fields in buf, ending at ends.
type row struct {
	buf  []byte
	ends []int
}

func (r *row) reset() { r.buf, r.ends = r.buf[:0], r.ends[:0] }

func (r *row) end() { r.ends = append(r.ends, len(r.buf)) }

func (r *row) int(v int64) { r.buf = strconv.AppendInt(r.buf, v, 10); r.end() }

func (r *row) bare(s string) { r.buf = append(r.buf, s...); r.end() }

// quoted appends s as a quoted field, doubling its quotes.
func (r *row) quoted(s []byte) {
	r.buf = append(r.buf, '"')
	for _, c := range s {
		if c == '"' {
			r.buf = append(r.buf, '"', '"')
		} else {
			r.buf = append(r.buf, c)
		}
	}
	r.buf = append(r.buf, '"')
	r.end()
}

func (r *row) field(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]]
}

// appendTo writes the row, with fields replaced per repl (index → encoded
// field) and, when drop, without its last field; extra adds a field.
func (r *row) appendTo(dst []byte, repl map[int]string, drop bool, extra string) []byte {
	n := len(r.ends)
	if drop {
		n--
	}
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v, ok := repl[i]; ok {
			dst = append(dst, v...)
		} else {
			dst = append(dst, r.field(i)...)
		}
	}
	if extra != "" {
		dst = append(dst, ',')
		dst = append(dst, extra...)
	}
	return append(dst, '\n')
}

const (
	fileReviews = iota
	filePhotos
	fileChars
	fileCharRevs
)

// generate writes the chunk's rows into c.buf.
func (c *chunk) generate(opt Options) {
	spcg := rand.NewPCG(0, 0)
	s := rand.New(spcg)
	tpcg := rand.NewPCG(0, 0)
	t := rand.New(tpcg)
	for i := range c.bad {
		c.bad[i] = map[string]int64{}
	}
	next := c.start
	var p product
	var rw row
	var text []byte
	for id := c.first; id <= c.last; id++ {
		structure(opt.Seed, id, s, spcg, &p)
		tpcg.Seed(opt.Seed, uint64(id)<<1|1)
		set := sets[p.set]
		charStart := next.char
		for _, name := range set {
			rw.reset()
			rw.int(next.char)
			rw.int(int64(id))
			rw.quoted([]byte(name))
			c.emit(fileChars, &rw, t, opt.Dirty, charStart)
			next.char++
		}
		for _, nphotos := range p.photos {
			rid := next.review
			next.review++
			rw.reset()
			rw.int(rid)
			rw.int(int64(id))
			rw.int(int64(rating(t)))
			rw.int(minDate + t.Int64N(maxDate-minDate))
			text = summary(t, text[:0])
			rw.quoted(text)
			text = body(t, text[:0])
			rw.quoted(text)
			rw.bare(strconv.FormatBool(t.Float64() < 0.7))
			rw.bare(strconv.FormatBool(t.Float64() < 0.02))
			name := reviewerName(t)
			rw.quoted([]byte(name))
			rw.quoted([]byte(email(t, name)))
			if t.Float64() < 0.05 {
				rw.quoted([]byte(responses[t.IntN(len(responses))]))
			} else {
				rw.bare("null")
			}
			rw.int(int64(helpfulness(t)))
			c.emit(fileReviews, &rw, t, opt.Dirty, charStart)

			for range nphotos {
				rw.reset()
				rw.int(next.photo)
				rw.int(rid)
				rw.quoted(photoURL(t))
				c.emit(filePhotos, &rw, t, opt.Dirty, charStart)
				next.photo++
			}
			for i := range set {
				rw.reset()
				rw.int(next.charRev)
				rw.int(charStart + int64(i))
				rw.int(rid)
				rw.int(int64(1 + t.IntN(5)))
				c.emit(fileCharRevs, &rw, t, opt.Dirty, charStart)
				next.charRev++
			}
		}
	}
}

// emit writes a good row, with a bad row of a random kind before it (or,
// for a duplicate, after it) with probability dirty.
func (c *chunk) emit(file int, rw *row, t *rand.Rand, dirty float64, charStart int64) {
	if dirty <= 0 || t.Float64() >= dirty {
		c.buf[file] = rw.appendTo(c.buf[file], nil, false, "")
		c.rows[file]++
		return
	}
	kinds := badKinds[file]
	k := kinds[t.IntN(len(kinds))]
	if k.name == kindOtherProduct && charStart == 1 {
		k = badKind{name: kindNoChar, repl: []replace{{1, []string{"2000000001"}}}}
	}
	c.bad[file][k.name]++
	c.rows[file] += 2
	var bad []byte
	switch {
	case k.name == kindDuplicate:
		c.buf[file] = rw.appendTo(c.buf[file], nil, false, "")
		c.buf[file] = rw.appendTo(c.buf[file], nil, false, "")
		return
	case k.name == kindOtherProduct:
		bad = rw.appendTo(nil, map[int]string{1: strconv.FormatInt(charStart-1, 10)}, false, "")
	case k.drop || k.extra != "":
		bad = rw.appendTo(nil, nil, k.drop, k.extra)
	default:
		repl := map[int]string{}
		for _, r := range k.repl {
			repl[r.field] = r.vals[t.IntN(len(r.vals))]
		}
		bad = rw.appendTo(nil, repl, false, "")
	}
	c.buf[file] = append(c.buf[file], bad...)
	c.buf[file] = rw.appendTo(c.buf[file], nil, false, "")
}

// Bad-row kinds. Their names are the reasons the ETL gives.
const (
	kindDuplicate    = "id: duplicate of a row already loaded"
	kindOtherProduct = "characteristic_id: characteristic of another product"
	kindNoChar       = "characteristic_id: no such characteristic"
	kindBroken       = `broken quoting: extraneous " after a quoted field`
)

// replace puts one of vals (encoded) in place of a field.
type replace struct {
	field int
	vals  []string
}

type badKind struct {
	name  string
	repl  []replace
	drop  bool
	extra string
}

var (
	notPositive = []string{"abc", "0", "-4", "1.5", "", `"x"`}
	notRating   = []string{"0", "6", "4.5", "five", "-1"}
	notBool     = []string{"yes", "TRUE", "1", `"t"`, ""}
	notDate     = []string{"2021-03-04", "-1", "1596080481467.5", "soon", "99999999999999999"}
	dangling    = []string{"2000000001", "2100000000", "1999999999"}
)

var badKinds = [4][]badKind{
	fileReviews: {
		{name: kindBroken, repl: []replace{{4, []string{`"Said "wow" twice"`, `"A ""fine"" one"x`}}, {5, []string{`"Short body, one line."`}}}},
		{name: "wrong number of columns: 11, want 12", drop: true},
		{name: "id: not a positive integer", repl: []replace{{0, notPositive}}},
		{name: "product_id: not a positive integer", repl: []replace{{1, notPositive}}},
		{name: "rating: not an integer in 1-5", repl: []replace{{2, notRating}}},
		{name: "date: not epoch milliseconds", repl: []replace{{3, notDate}}},
		{name: "recommend: not true or false", repl: []replace{{6, notBool}}},
		{name: "reported: not true or false", repl: []replace{{7, notBool}}},
		{name: "helpfulness: negative", repl: []replace{{11, []string{"-1", "-12"}}}},
		{name: kindDuplicate},
	},
	filePhotos: {
		{name: kindBroken, repl: []replace{{2, []string{`"https://images.example.com/a"b.jpg"`}}}},
		{name: "wrong number of columns: 4, want 3", extra: `"https://images.example.com/extra.jpg"`},
		{name: "id: not a positive integer", repl: []replace{{0, notPositive}}},
		{name: "review_id: not a positive integer", repl: []replace{{1, notPositive}}},
		{name: "review_id: no such review", repl: []replace{{1, dangling}}},
		{name: kindDuplicate},
	},
	fileChars: {
		{name: kindBroken, repl: []replace{{2, []string{`"Fi"t"`}}}},
		{name: "wrong number of columns: 2, want 3", drop: true},
		{name: "id: not a positive integer", repl: []replace{{0, notPositive}}},
		{name: "product_id: not a positive integer", repl: []replace{{1, notPositive}}},
		{name: kindDuplicate},
	},
	fileCharRevs: {
		{name: kindBroken, repl: []replace{{3, []string{`"4"x`}}}},
		{name: "wrong number of columns: 3, want 4", drop: true},
		{name: "id: not a positive integer", repl: []replace{{0, notPositive}}},
		{name: "characteristic_id: not a positive integer", repl: []replace{{1, notPositive}}},
		{name: "review_id: not a positive integer", repl: []replace{{2, notPositive}}},
		{name: "value: not an integer in 1-5", repl: []replace{{3, notRating}}},
		{name: "review_id: no such review", repl: []replace{{2, dangling}}},
		{name: kindNoChar, repl: []replace{{1, dangling}}},
		{name: kindOtherProduct},
		{name: kindDuplicate},
	},
}
