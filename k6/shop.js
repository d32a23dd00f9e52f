// Read-mostly shop traffic: 70 % list over the three sorts, 25 % meta, 3 %
// PUT helpful, 1.5 % POST /reviews, 0.5 % PUT report, with 80 % of product
// choices on a hot 5 % of the products (writes sampled the same way).
// Rate, duration, request mix and hot set: scenario "shop" of scenarios.json;
// thresholds: its SLO profile (SLO=slo by default, SLO=seed); summary: lib.js.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/shop.js              (make cluster; the range is learnt)
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e FULL_SCALE=1 k6/shop.js   (refuses a demo database)
import { options as scenarioOptions, setupData, iterate, summary } from './lib.js';

const NAME = 'shop';

export const options = scenarioOptions(NAME);

export function setup() {
  return setupData(NAME);
}

export default function (data) {
  iterate(NAME, data);
}

export function handleSummary(data) {
  return summary(NAME, data);
}
