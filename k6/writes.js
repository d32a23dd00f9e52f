// POST /reviews and PUT /reviews/:id/helpful on products and reviews sampled in setup().
// Rate, duration and request mix: scenario "writes" of scenarios.json;
// thresholds: its SLO profile (SLO=slo by default, SLO=seed); summary: lib.js.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/writes.js              (make cluster; the range is learnt)
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e FULL_SCALE=1 k6/writes.js   (refuses a demo database)
import { options as scenarioOptions, setupData, iterate, summary } from './lib.js';

const NAME = 'writes';

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
