// POST /reviews and PUT /reviews/:id/helpful on products and reviews sampled in setup().
// Rate, duration, request mix and thresholds: scenario "writes" of scenarios.json.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e PRODUCTS=1000011 k6/writes.js
import { options as scenarioOptions, setupData, iterate } from './lib.js';

const NAME = 'writes';

export const options = scenarioOptions(NAME);

export function setup() {
  return setupData(NAME);
}

export default function (data) {
  iterate(NAME, data);
}
