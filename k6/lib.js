// Shared by list.js, meta.js, writes.js, mixed.js and shop.js. It reads scenarios.json
// (the file `go run ./bench/load` reads too) and turns one scenario of it into
// k6 options, a setup() and one HTTP request per iteration.
//
// Environment (k6 run -e NAME=value):
//   BASE_URL  the service, default http://127.0.0.1:3000
//   PRODUCTS  product ids are drawn uniformly from 1..PRODUCTS (default: scenarios.json)
//   RATE      requests per second, overrides the scenario's rate
//   DURATION  e.g. 30s, overrides the scenario's duration
//
// Writes (post, helpful, report) need real ids. setup() probes random products
// with GET /reviews/meta, keeps those that have characteristics, proves each
// one with a first POST /reviews (a product whose characteristics cannot all be
// learnt from meta answers 422 and is left out), and collects review ids from
// GET /reviews for the PUT routes. The run's requests then draw from that
// sample; reads stay uniform over 1..PRODUCTS. Setup requests are tagged
// op=setup and are outside the thresholds, which filter on the scenario tag.
//
// A scenario with "hot" (shop) draws every product, setup's probes included,
// from a hot set with probability hot.traffic: floor(PRODUCTS * hot.products)
// ids (at least one), every stride-th id from 1; otherwise uniformly from
// 1..PRODUCTS. bench/load draws them the same way (Hot in scenario.go).
import http from 'k6/http';
import { check, fail } from 'k6';

const config = JSON.parse(open('./scenarios.json'));

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const PRODUCTS = positiveInt('PRODUCTS', config.products);

const SORTS = ['newest', 'helpful', 'relevant'];
const REVIEW_BODY =
  'Written by the load test: the fabric held up well and the fit was as described on the product page.';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

function positiveInt(name, fallback) {
  const v = __ENV[name];
  if (v === undefined || v === '') {
    return fallback;
  }
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) {
    throw new Error(`${name} must be a positive integer, got "${v}"`);
  }
  return Number(v);
}

function scenario(name) {
  const s = config.scenarios[name];
  if (!s) {
    throw new Error(`scenarios.json has no scenario "${name}"`);
  }
  return s;
}

function randInt(lo, hi) {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

// hotSet is the hot set of a scenario: size ids 1, 1+stride, 1+2*stride, …
function hotSet(hot) {
  const size = Math.max(1, Math.floor(PRODUCTS * hot.products));
  return { size: size, stride: Math.floor(PRODUCTS / size) };
}

const hotSets = {};

// productId draws the product of one request of scenario name.
function productId(name) {
  const hot = scenario(name).hot;
  if (hot) {
    if (!hotSets[name]) {
      hotSets[name] = hotSet(hot);
    }
    if (Math.random() < hot.traffic) {
      const h = hotSets[name];
      return 1 + Math.floor(Math.random() * h.size) * h.stride;
    }
  }
  return randInt(1, PRODUCTS);
}

function pickOne(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// options builds the k6 options of scenario name: one constant-arrival-rate
// scenario and thresholds on its own requests only.
export function options(name) {
  const s = scenario(name);
  const th = s.thresholds;
  const thresholds = {};
  thresholds[`http_req_duration{scenario:${name}}`] = [`p(99)<${th.p99_ms}`];
  thresholds[`http_req_failed{scenario:${name}}`] = [`rate<=${th.max_error_rate}`];
  thresholds[`checks{scenario:${name}}`] = [`rate>=${1 - th.max_error_rate}`];
  const scenarios = {};
  scenarios[name] = {
    executor: 'constant-arrival-rate',
    rate: positiveInt('RATE', s.rate),
    timeUnit: '1s',
    duration: __ENV.DURATION || s.duration,
    preAllocatedVUs: s.preAllocatedVUs,
    maxVUs: s.maxVUs,
  };
  return {
    scenarios: scenarios,
    thresholds: thresholds,
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  };
}

function usesOp(name, ops) {
  return scenario(name).mix.some((m) => ops.includes(m.op));
}

function reviewBody(product) {
  const characteristics = {};
  for (const id of product.characteristics) {
    characteristics[String(id)] = randInt(1, 5);
  }
  return JSON.stringify({
    product_id: product.id,
    rating: randInt(1, 5),
    summary: 'Load test review',
    body: REVIEW_BODY,
    recommend: Math.random() < 0.5,
    name: 'loadtest',
    email: 'loadtest@example.com',
    photos: [],
    characteristics: characteristics,
  });
}

// setupData samples the products and review ids the write operations use.
export function setupData(name) {
  const needProducts = usesOp(name, ['post']);
  const needReviews = usesOp(name, ['helpful', 'report']);
  const products = [];
  const reviews = [];
  if (!needProducts && !needReviews) {
    return { products: products, reviews: reviews };
  }
  const st = config.setup;
  const tags = { tags: { op: 'setup' } };
  for (let i = 0; i < st.max_probes && products.length < st.sample_products; i++) {
    const id = productId(name);
    const meta = http.get(`${BASE_URL}/reviews/meta?product_id=${id}`, tags);
    if (meta.status !== 200) {
      fail(`setup: GET /reviews/meta?product_id=${id} answered ${meta.status}`);
    }
    const chars = Object.values(meta.json().characteristics || {}).map((c) => c.id);
    if (chars.length === 0) {
      continue;
    }
    const product = { id: id, characteristics: chars };
    if (needProducts) {
      const res = http.post(`${BASE_URL}/reviews`, reviewBody(product), {
        headers: JSON_HEADERS,
        tags: { op: 'setup' },
        responseCallback: http.expectedStatuses(201, 422),
      });
      if (res.status === 422) {
        continue; // characteristics meta does not show (same name twice)
      }
      if (res.status !== 201) {
        fail(`setup: POST /reviews for product ${id} answered ${res.status}`);
      }
    }
    products.push(product);
    if (needReviews) {
      const list = http.get(
        `${BASE_URL}/reviews?product_id=${id}&count=${st.reviews_per_product}&sort=newest`,
        tags,
      );
      if (list.status !== 200) {
        fail(`setup: GET /reviews?product_id=${id} answered ${list.status}`);
      }
      for (const r of list.json().results) {
        reviews.push(r.review_id);
      }
    }
  }
  if (products.length === 0) {
    fail(`setup: none of ${st.max_probes} random products in 1..${PRODUCTS} has characteristics`);
  }
  if (needReviews && reviews.length === 0) {
    fail('setup: the sampled products have no reviews to vote on or report');
  }
  return { products: products, reviews: reviews };
}

const cumulative = {};

function pickOp(name) {
  if (!cumulative[name]) {
    let sum = 0;
    cumulative[name] = scenario(name).mix.map((m) => {
      sum += m.weight;
      return { op: m.op, upto: sum };
    });
  }
  const table = cumulative[name];
  const x = Math.random() * table[table.length - 1].upto;
  for (const e of table) {
    if (x < e.upto) {
      return e.op;
    }
  }
  return table[table.length - 1].op;
}

// iterate sends one request of scenario name, its operation drawn by weight.
export function iterate(name, data) {
  const op = pickOp(name);
  let res;
  let want;
  switch (op) {
    case 'list': {
      const url = `${BASE_URL}/reviews?product_id=${productId(name)}&sort=${pickOne(SORTS)}`;
      res = http.get(url, { tags: { op: op, name: 'GET /reviews' } });
      want = 200;
      break;
    }
    case 'meta': {
      const url = `${BASE_URL}/reviews/meta?product_id=${productId(name)}`;
      res = http.get(url, { tags: { op: op, name: 'GET /reviews/meta' } });
      want = 200;
      break;
    }
    case 'post': {
      res = http.post(`${BASE_URL}/reviews`, reviewBody(pickOne(data.products)), {
        headers: JSON_HEADERS,
        tags: { op: op, name: 'POST /reviews' },
      });
      want = 201;
      break;
    }
    case 'helpful':
    case 'report': {
      const url = `${BASE_URL}/reviews/${pickOne(data.reviews)}/${op}`;
      res = http.put(url, null, { tags: { op: op, name: `PUT /reviews/{id}/${op}` } });
      want = 204;
      break;
    }
    default:
      throw new Error(`unknown op "${op}" in scenarios.json`);
  }
  check(res, { [`${op} answers ${want}`]: (r) => r.status === want });
}
