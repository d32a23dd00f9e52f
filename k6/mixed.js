// 1,000 reads/s and 500 writes/s: list, meta, POST /reviews, PUT helpful, some PUT report.
// Rate, duration and request mix: scenario "mixed" of scenarios.json;
// thresholds: its SLO profile (SLO=slo by default, SLO=seed); summary: lib.js.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/mixed.js              (make cluster; the range is learnt)
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e FULL_SCALE=1 k6/mixed.js   (refuses a demo database)
import { options as scenarioOptions, setupData, iterate, summary } from './lib.js';

const NAME = 'mixed';

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
