// Read-mostly shop traffic: 70 % list over the three sorts, 25 % meta, 3 %
// PUT helpful, 1.5 % POST /reviews, 0.5 % PUT report, with 80 % of product
// choices on a hot 5 % of the products (writes sampled the same way).
// Rate, duration, request mix, hot set and thresholds: scenario "shop" of
// scenarios.json.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e PRODUCTS=1000011 k6/shop.js
import { options as scenarioOptions, setupData, iterate } from './lib.js';

const NAME = 'shop';

export const options = scenarioOptions(NAME);

export function setup() {
  return setupData(NAME);
}

export default function (data) {
  iterate(NAME, data);
}
