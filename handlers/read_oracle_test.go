package handlers

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/gen"
	"github.com/catwalk/reviews/jsontext"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

//go:embed testdata/oracle_data.sql
var oracleDataSQL string

var (
	oracleURL      = flag.String("oracle-url", "", "also check random products of the database at this URL (e.g. one loaded by catwalk gen and catwalk etl)")
	oracleProducts = flag.Int("oracle-products", 200, "how many random products -oracle-url checks")
)

// TestReadOracle recomputes lists and meta of every product of a random
// dataset with plain SQL over the source rows and compares them with the
// API's answers.
func TestReadOracle(t *testing.T) {
	pool := mustReadDB(t, oracleDataSQL)
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM reviews").Scan(&n); err != nil || n < 1000 {
		t.Fatalf("oracle dataset has %d reviews (%v), want ≥ 1000", n, err)
	}
	// The data must exercise the rules the oracle is for.
	f := func(what, sql string) {
		t.Helper()
		var ok bool
		if err := pool.QueryRow(context.Background(), sql).Scan(&ok); err != nil || !ok {
			t.Fatalf("oracle dataset lacks %s (%v)", what, err)
		}
	}
	f("reported reviews", `SELECT bool_or(reported) FROM reviews`)
	f("equal dates within a product", `SELECT EXISTS (SELECT FROM reviews GROUP BY product_id, date HAVING count(*) > 1)`)
	f("equal helpfulness and date", `SELECT EXISTS (SELECT FROM reviews GROUP BY product_id, helpfulness, date HAVING count(*) > 1)`)
	f("duplicate characteristic names", `SELECT EXISTS (SELECT FROM characteristics GROUP BY product_id, name HAVING count(*) > 1)`)
	f("averages of exactly 1", `SELECT bool_or(value_count > 0 AND value_sum = value_count) FROM characteristics`)
	f("characteristics without values", `SELECT bool_or(value_count = 0) FROM characteristics`)
	f("empty responses", `SELECT bool_or(response = '') FROM reviews`)

	products := []int32{301, 2147483647} // unknown products
	for p := int32(1); p <= 300; p++ {
		products = append(products, p)
	}
	checkOracle(t, pool, products)

	if *oracleURL != "" {
		t.Run("LoadedDatabase", func(t *testing.T) {
			loaded, err := pgxpool.New(context.Background(), *oracleURL)
			if err != nil {
				t.Fatal(err)
			}
			defer loaded.Close()
			checkOracle(t, loaded, randomProducts(t, loaded, *oracleProducts))
		})
	}
}

// TestReadOracleGenerated runs the oracle on a dataset written by the
// generator (with bad rows of every kind) and loaded by the ETL, the way
// production data arrives.
func TestReadOracleGenerated(t *testing.T) {
	dir := t.TempDir()
	if _, err := gen.Generate(gen.Options{Dir: dir, Products: 3000, Seed: 11, Dirty: 0.02}); err != nil {
		t.Fatal(err)
	}
	url := testdb.NewDatabase(t)
	if _, err := etl.Load(context.Background(), url, etl.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	products := append(randomProducts(t, pool, 150), 1, 3000, 3001)
	checkOracle(t, pool, products)
}

// randomProducts draws n product ids uniformly from 1 … the largest
// product id with a characteristic or a review.
func randomProducts(t *testing.T, pool *pgxpool.Pool, n int) []int32 {
	t.Helper()
	var top int32
	err := pool.QueryRow(context.Background(),
		`SELECT greatest((SELECT max(product_id) FROM reviews), (SELECT max(product_id) FROM characteristics))`).Scan(&top)
	if err != nil || top < 1 {
		t.Fatalf("no products in the loaded database (%v)", err)
	}
	r := rand.New(rand.NewPCG(uint64(top), 7))
	out := make([]int32, n)
	for i := range out {
		out[i] = 1 + r.Int32N(top)
	}
	return out
}

// checkOracle compares GET /reviews (every sort, several page sizes) and GET
// /reviews/meta of each product with answers recomputed by plain SQL from the
// source tables (reviews, reviews_photos, characteristics,
// characteristic_reviews), ignoring the read model. It works on any loaded
// database, e.g. one filled by `catwalk gen` and `catwalk etl`.
func checkOracle(t *testing.T, pool *pgxpool.Pool, products []int32) {
	t.Helper()
	h := New(queries.New(pool), nil, Config{MaxPageSize: 10000}, nil).Router()
	get := func(uri string) []byte {
		t.Helper()
		resp := serve(h, "GET", uri)
		if resp.StatusCode() != fasthttp.StatusOK {
			t.Fatalf("GET %s = %d %s", uri, resp.StatusCode(), resp.Body())
		}
		return resp.Body()
	}
	sorts := []string{"relevant", "newest", "helpful"}
	for _, p := range products {
		if got, want := get(fmt.Sprintf("/reviews/meta?product_id=%d", p)), oracleMeta(t, pool, p); !bytes.Equal(got, want) {
			t.Errorf("meta of product %d:\n got: %s\nwant: %s", p, got, want)
		}
		for _, sort := range sorts {
			all := oracleList(t, pool, p, sort, 1<<30, 0)
			f := func(page, count int) {
				t.Helper()
				uri := fmt.Sprintf("/reviews?product_id=%d&sort=%s&page=%d&count=%d", p, sort, page, count)
				var got oracleListBody
				if err := json.Unmarshal(get(uri), &got); err != nil {
					t.Fatalf("GET %s: %v", uri, err)
				}
				from := min((page-1)*count, len(all))
				want := oracleListBody{Product: strconv.Itoa(int(p)), Page: page - 1, Count: count, Results: all[from:min(from+count, len(all))]}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("GET %s:\n got: %+v\nwant: %+v", uri, got, want)
				}
			}
			for page := 1; page <= len(all)/5+2; page++ {
				f(page, 5)
			}
			f(2, 3)
			f(1, 1000000)
		}
	}
}

type oracleListBody struct {
	Product string         `json:"product"`
	Page    int            `json:"page"`
	Count   int            `json:"count"`
	Results []oracleReview `json:"results"`
}

type oracleReview struct {
	ReviewID     int32         `json:"review_id"`
	Rating       int16         `json:"rating"`
	Summary      string        `json:"summary"`
	Recommend    bool          `json:"recommend"`
	Response     *string       `json:"response"`
	Body         string        `json:"body"`
	Date         string        `json:"date"`
	ReviewerName string        `json:"reviewer_name"`
	Helpfulness  int32         `json:"helpfulness"`
	Photos       []oraclePhoto `json:"photos"`
}

type oraclePhoto struct {
	ID  int32  `json:"id"`
	URL string `json:"url"`
}

// The oracle's orders spell out API.md's rules over the source columns; the
// relevance score is recomputed from helpfulness and date, not read from
// reviews.score.
var oracleOrders = map[string]string{
	"relevant": "log(1 + r.helpfulness::float8) + extract(epoch FROM r.date)::float8 / 2592000 DESC, r.id DESC",
	"newest":   "r.date DESC, r.id DESC",
	"helpful":  "r.helpfulness DESC, r.date DESC, r.id DESC",
}

func oracleList(t *testing.T, pool *pgxpool.Pool, product int32, sort string, limit, offset int) []oracleReview {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
SELECT r.id, r.rating, r.summary, r.recommend, r.response, r.body,
       to_char(r.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       r.reviewer_name, r.helpfulness,
       (SELECT coalesce(json_agg(json_build_object('id', p.id, 'url', p.url) ORDER BY p.id), '[]')
        FROM reviews_photos p WHERE p.review_id = r.id)
FROM reviews r
WHERE r.product_id = $1 AND NOT r.reported
ORDER BY `+oracleOrders[sort]+`
LIMIT $2 OFFSET $3`, product, limit, offset)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []oracleReview{}
	for rows.Next() {
		var r oracleReview
		var photos []byte
		if err := rows.Scan(&r.ReviewID, &r.Rating, &r.Summary, &r.Recommend, &r.Response, &r.Body, &r.Date, &r.ReviewerName, &r.Helpfulness, &photos); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(photos, &r.Photos); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// oracleMeta builds the expected meta body from counts and AVG over the
// product's non-reported reviews.
func oracleMeta(t *testing.T, pool *pgxpool.Pool, product int32) []byte {
	t.Helper()
	ctx := context.Background()
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"product_id":"%d","ratings":{`, product)
	pairs := func(sql string) {
		t.Helper()
		rows, err := pool.Query(ctx, sql, product)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for i := 0; rows.Next(); i++ {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s":"%d"`, k, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	pairs(`SELECT rating::text, count(*) FROM reviews WHERE product_id = $1 AND NOT reported GROUP BY rating ORDER BY rating`)
	b.WriteString(`},"recommended":{`)
	pairs(`SELECT recommend::text, count(*) FROM reviews WHERE product_id = $1 AND NOT reported GROUP BY recommend ORDER BY recommend`)
	b.WriteString(`},"characteristics":{`)
	rows, err := pool.Query(ctx, `
SELECT c.id, c.name,
       (SELECT avg(cr.value)::text FROM characteristic_reviews cr JOIN reviews r ON r.id = cr.review_id
        WHERE cr.characteristic_id = c.id AND NOT r.reported)
FROM characteristics c
WHERE c.product_id = $1
  AND NOT EXISTS (SELECT FROM characteristics d WHERE d.product_id = c.product_id AND d.name = c.name AND d.id < c.id)
ORDER BY c.id`, product)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for i := 0; rows.Next(); i++ {
		var id int32
		var name string
		var avg *string
		if err := rows.Scan(&id, &name, &avg); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		value := "null"
		if avg != nil {
			value = `"` + *avg + `"`
		}
		fmt.Fprintf(&b, `%s:{"id":%d,"value":%s}`, jsontext.AppendString(nil, []byte(name)), id, value)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	b.WriteString("}}")
	return b.Bytes()
}
