// Shared by list.js, meta.js, writes.js, mixed.js and shop.js. It reads scenarios.json
// (the file `go run ./bench/load` reads too) and turns one scenario of it into
// k6 options, a setup() and one HTTP request per iteration.
//
// Environment (k6 run -e NAME=value):
//   BASE_URL    the service, default http://127.0.0.1:3000
//   PRODUCTS    product ids are drawn from 1..PRODUCTS (default: learnt from
//               the service in setup, see discoverProducts)
//   FULL_SCALE  1: refuse to run unless the service has the full-scale
//               dataset (scenarios.json full_scale.min_products products)
//   SLO         the profile of scenarios.json's slo whose thresholds judge
//               the run (default slo; seed: the seed's bar)
//   RATE        requests per second, overrides the scenario's rate
//   DURATION    e.g. 30s, overrides the scenario's duration
//   SUMMARY     where handleSummary writes the JSON summary (default
//               bench/results/k6-<scenario>-<UTC time>.json, relative to
//               the directory k6 runs in: the repository's root)
//
// Thresholds (options): the SLO profile, per operation (tag op) on
// http_req_duration p95 and p99 by the limits of its class (read: list,
// meta; write: post, helpful, report), and on the whole scenario
// http_req_failed and checks. Thresholds that always pass (count>=0,
// rate>=0, max>=0) are there for their sub-metrics alone: k6 puts a
// sub-metric in the end-of-test data only when a threshold names it, and
// handleSummary needs the per-operation counts. Reads whose good answer
// holds no data (a list with "results":[], a meta with "ratings":{}) count
// in the empty_answers counter, tagged by op.
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
import { Counter, Gauge } from 'k6/metrics';
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';

const config = JSON.parse(open('./scenarios.json'));

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
// PRODUCTS_FLAG is PRODUCTS when given; otherwise setup() learns the range.
const PRODUCTS_FLAG = positiveInt('PRODUCTS', 0);
const FULL_SCALE = __ENV.FULL_SCALE === '1' || __ENV.FULL_SCALE === 'true';
const SLO_NAME = __ENV.SLO || config.slo.default;

const emptyAnswers = new Counter('empty_answers');
// productRangeGauge carries setup's product range to handleSummary, whose
// data may lack setup_data (older k6).
const productRangeGauge = new Gauge('product_range');
const READ_OPS = ['list', 'meta'];

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

// hotSet is the hot set of a scenario over products 1..n: size ids 1,
// 1+stride, 1+2*stride, …
function hotSet(hot, n) {
  const size = Math.max(1, Math.floor(n * hot.products));
  return { size: size, stride: Math.floor(n / size) };
}

const hotSets = {};

// productId draws the product of one request of scenario name among 1..n.
function productId(name, n) {
  const hot = scenario(name).hot;
  if (hot) {
    const k = `${name}/${n}`;
    if (!hotSets[k]) {
      hotSets[k] = hotSet(hot, n);
    }
    if (Math.random() < hot.traffic) {
      const h = hotSets[k];
      return 1 + Math.floor(Math.random() * h.size) * h.stride;
    }
  }
  return randInt(1, n);
}

function profile() {
  const p = config.slo.profiles[SLO_NAME];
  if (!p) {
    throw new Error(`scenarios.json has no SLO profile "${SLO_NAME}"`);
  }
  return p;
}

// limitsOf is the latency class (read or write) of op in profile p.
function limitsOf(p, op) {
  return p.write.ops.includes(op) ? p.write : p.read;
}

function mixOps(name) {
  const seen = [];
  for (const m of scenario(name).mix) {
    if (!seen.includes(m.op)) {
      seen.push(m.op);
    }
  }
  return seen;
}

function pickOne(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// thresholds are the SLO profile's, on scenario name's own requests only
// (setup's are outside any scenario), and the bookkeeping ones that always
// pass (see the top of this file).
export function thresholds(name) {
  const p = profile();
  const th = {};
  const sc = `scenario:${name}`;
  for (const op of mixOps(name)) {
    const lim = limitsOf(p, op);
    const dur = [];
    if (lim.p95_ms) {
      dur.push(`p(95)<${lim.p95_ms}`);
    }
    if (lim.p99_ms) {
      dur.push(`p(99)<${lim.p99_ms}`);
    }
    th[`http_req_duration{${sc},op:${op}}`] = dur;
    th[`http_reqs{${sc},op:${op}}`] = ['count>=0'];
    th[`http_req_failed{${sc},op:${op}}`] = ['rate>=0'];
    if (READ_OPS.includes(op)) {
      th[`empty_answers{${sc},op:${op}}`] = ['count>=0'];
    }
  }
  th[`http_req_failed{${sc}}`] = [`rate<=${p.max_error_rate}`];
  th[`checks{${sc}}`] = [`rate>=${p.min_checks_rate}`];
  th[`http_req_duration{${sc}}`] = ['max>=0'];
  th[`http_reqs{${sc}}`] = ['count>=0'];
  return th;
}

// options builds the k6 options of scenario name: one constant-arrival-rate
// scenario and the SLO's thresholds on its own requests.
export function options(name) {
  const s = scenario(name);
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
    thresholds: thresholds(name),
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  };
}

// hasData reports whether product id has data: ratings or characteristics.
function hasData(id) {
  const res = http.get(`${BASE_URL}/reviews/meta?product_id=${id}`, { tags: { op: 'setup' } });
  if (res.status !== 200) {
    fail(`setup: discovering the product range: GET /reviews/meta?product_id=${id} answered ${res.status}`);
  }
  const m = res.json();
  return Object.keys(m.ratings || {}).length > 0 || Object.keys(m.characteristics || {}).length > 0;
}

const DISCOVER_WINDOW = 8;
const MAX_PRODUCT_ID = 2147483647;

// discoverProducts returns the largest product id with data (0: none), as
// bench/load's discoverProducts (discover.go) does: no route lists the
// range, the datasets number products 1..N, so it doubles then bisects on
// GET /reviews/meta, each probe looking at DISCOVER_WINDOW ids so that a
// few missing products do not cut the range short.
export function discoverProducts() {
  const near = (id) => {
    for (let i = id; i < id + DISCOVER_WINDOW && i <= MAX_PRODUCT_ID; i++) {
      if (hasData(i)) {
        return true;
      }
    }
    return false;
  };
  if (!near(1)) {
    return 0;
  }
  let lo = 1;
  let hi = MAX_PRODUCT_ID + 1;
  for (let x = 1024; x <= MAX_PRODUCT_ID; x *= 2) {
    if (!near(x)) {
      hi = x;
      break;
    }
    lo = x;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (near(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// productRange is the run's products 1..N: PRODUCTS when given (and not
// FULL_SCALE), else learnt from the service; it fails setup (no request of
// the run is sent) against a service without data, or one smaller than
// the full-scale dataset when FULL_SCALE asks for it.
function productRange() {
  if (PRODUCTS_FLAG > 0 && !FULL_SCALE) {
    return { n: PRODUCTS_FLAG, from: 'flag' };
  }
  const found = discoverProducts();
  if (found === 0) {
    fail('setup: refusing to run: the service has no product with data; load a dataset first (README, "Load testing")');
  }
  console.log(`products: 1..${found} learnt from the service`);
  if (FULL_SCALE && found < config.full_scale.min_products) {
    fail(
      `setup: refusing a full-scale run: the service has products 1..${found}, fewer than the ` +
        `${config.full_scale.min_products} of the full-scale dataset (a demo database?)`,
    );
  }
  if (PRODUCTS_FLAG > 0) {
    return { n: PRODUCTS_FLAG, from: 'flag' };
  }
  return { n: found, from: 'service' };
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

// setupData learns the product range and samples the products and review
// ids the write operations use.
export function setupData(name) {
  const range = productRange();
  productRangeGauge.add(range.n, { from: range.from });
  const needProducts = usesOp(name, ['post']);
  const needReviews = usesOp(name, ['helpful', 'report']);
  const products = [];
  const reviews = [];
  const data = { range: range.n, rangeFrom: range.from, products: products, reviews: reviews };
  if (!needProducts && !needReviews) {
    return data;
  }
  const st = config.setup;
  const tags = { tags: { op: 'setup' } };
  for (let i = 0; i < st.max_probes && products.length < st.sample_products; i++) {
    const id = productId(name, range.n);
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
    fail(`setup: none of ${st.max_probes} random products in 1..${range.n} has characteristics`);
  }
  if (needReviews && reviews.length === 0) {
    fail('setup: the sampled products have no reviews to vote on or report');
  }
  return data;
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
      const url = `${BASE_URL}/reviews?product_id=${productId(name, data.range)}&sort=${pickOne(SORTS)}`;
      res = http.get(url, { tags: { op: op, name: 'GET /reviews' } });
      want = 200;
      if (res.status === 200 && res.body && res.body.includes('"results":[]')) {
        emptyAnswers.add(1, { op: op });
      }
      break;
    }
    case 'meta': {
      const url = `${BASE_URL}/reviews/meta?product_id=${productId(name, data.range)}`;
      res = http.get(url, { tags: { op: op, name: 'GET /reviews/meta' } });
      want = 200;
      if (res.status === 200 && res.body && res.body.includes('"ratings":{}')) {
        emptyAnswers.add(1, { op: op });
      }
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

// metricValues is the values of metric (a sub-metric's full name) in k6's
// end-of-test data, {} when k6 did not record it.
function metricValues(data, metric) {
  const m = data.metrics[metric];
  return (m && m.values) || {};
}

// percentiles turns a trend's values into bench/load's latency_ms.
function percentiles(v) {
  return {
    p50: v.med || 0,
    p90: v['p(90)'] || 0,
    p95: v['p(95)'] || 0,
    p99: v['p(99)'] || 0,
    max: v.max || 0,
    mean: v.avg || 0,
  };
}

// summaryJSON is k6's end-of-test data as bench/load's -json summary
// (bench/load/summary.go: the same field names, tool "k6"), so that one
// results page (go run ./bench/loadreport) shows either. k6 has no service
// time, late count, outcomes or timeline; errors are the failed checks.
export function summaryJSON(name, data, setup) {
  const sc = `scenario:${name}`;
  const s = scenario(name);
  const opts = options(name).scenarios[name];
  const requests = metricValues(data, `http_reqs{${sc}}`).count || 0;
  const checks = metricValues(data, `checks{${sc}}`);
  const ok = checks.passes || 0;
  const failedRate = metricValues(data, `http_req_failed{${sc}}`).rate || 0;
  const elapsed = (data.state && data.state.testRunDurationMs ? data.state.testRunDurationMs : 0) / 1000;
  const byOp = {};
  let empty = 0;
  for (const op of mixOps(name)) {
    const n = metricValues(data, `http_reqs{${sc},op:${op}}`).count || 0;
    const e = metricValues(data, `empty_answers{${sc},op:${op}}`).count || 0;
    empty += e;
    byOp[op] = {
      requests: n,
      errors: Math.round(n * (metricValues(data, `http_req_failed{${sc},op:${op}}`).rate || 0)),
      empty: e,
      latency_ms: percentiles(metricValues(data, `http_req_duration{${sc},op:${op}}`)),
    };
  }
  const thresholds = [];
  let pass = true;
  for (const metric of Object.keys(data.metrics).sort()) {
    const th = data.metrics[metric].thresholds || {};
    for (const cond of Object.keys(th)) {
      if (/^(count|rate|max)>=0$/.test(cond)) {
        continue; // bookkeeping (see the top of this file)
      }
      const m = /^(p\((\d+(?:\.\d+)?)\)|rate)/.exec(cond);
      const v = data.metrics[metric].values;
      const value = m && m[2] ? v[`p(${m[2]})`] : v.rate;
      const okTh = th[cond].ok !== false;
      pass = pass && okTh;
      // "http_req_duration{scenario:mixed,op:list}" reads as bench/load's
      // "http_req_duration{op:list}": the scenario is the summary's own.
      const short = metric.replace(`{${sc}}`, '').replace(`{${sc},`, '{');
      thresholds.push({ metric: short, threshold: cond, value: value === undefined ? 0 : value, ok: okTh });
    }
  }
  return {
    tool: 'k6',
    scenario: name,
    mode: 'open',
    products: setup && setup.range ? setup.range : metricValues(data, 'product_range').value || PRODUCTS_FLAG,
    products_from: setup && setup.rangeFrom ? setup.rangeFrom : PRODUCTS_FLAG > 0 ? 'flag' : 'service',
    rate: opts.rate,
    max_in_flight: s.maxVUs,
    duration_s: durationSeconds(opts.duration),
    elapsed_s: elapsed,
    requests: requests,
    ok: ok,
    errors: requests - ok,
    error_rate: requests > 0 ? (requests - ok) / requests : 0,
    failed: Math.round(requests * failedRate),
    empty: empty,
    achieved_rps: elapsed > 0 ? requests / elapsed : 0,
    latency_ms: percentiles(metricValues(data, `http_req_duration{${sc}}`)),
    by_op: byOp,
    slo: SLO_NAME,
    thresholds: thresholds,
    pass: pass,
  };
}

// durationSeconds reads k6's duration strings ("30s", "1m30s", "500ms").
function durationSeconds(d) {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m;
  while ((m = re.exec(d)) !== null) {
    total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
  }
  return total;
}

// summaryPath is where the JSON summary goes: SUMMARY, or
// bench/results/k6-<scenario>-<UTC time>.json.
function summaryPath(name) {
  if (__ENV.SUMMARY) {
    return __ENV.SUMMARY;
  }
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `bench/results/k6-${name}-${t}.json`;
}

// handleSummary is every script's: k6's usual text summary on stdout, and
// the JSON summary (summaryJSON) in a file. The product range comes from
// setup()'s data when k6 passes it (data.setup_data), else from the
// product_range gauge setup set.
export function summary(name, data) {
  const out = { stdout: textSummary(data, { indent: ' ', enableColors: true }) };
  out[summaryPath(name)] = JSON.stringify(summaryJSON(name, data, data.setup_data), null, 2) + '\n';
  return out;
}
