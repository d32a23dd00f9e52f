// GET /reviews/meta, product_id uniform in 1..PRODUCTS.
// Rate, duration, request mix and thresholds: scenario "meta" of scenarios.json.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e PRODUCTS=1000011 k6/meta.js
import { options as scenarioOptions, setupData, iterate } from './lib.js';

const NAME = 'meta';

export const options = scenarioOptions(NAME);

export function setup() {
  return setupData(NAME);
}

export default function (data) {
  iterate(NAME, data);
}
