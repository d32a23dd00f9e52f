// 1,000 reads/s and 500 writes/s: list, meta, POST /reviews, PUT helpful, some PUT report.
// Rate, duration, request mix and thresholds: scenario "mixed" of scenarios.json.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e PRODUCTS=1000011 k6/mixed.js
import { options as scenarioOptions, setupData, iterate } from './lib.js';

const NAME = 'mixed';

export const options = scenarioOptions(NAME);

export function setup() {
  return setupData(NAME);
}

export default function (data) {
  iterate(NAME, data);
}
