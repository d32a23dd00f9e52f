// GET /reviews/meta, product_id uniform over the product range.
// Rate, duration and request mix: scenario "meta" of scenarios.json;
// thresholds: its SLO profile (SLO=slo by default, SLO=seed); summary: lib.js.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 k6/meta.js              (make cluster; the range is learnt)
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e FULL_SCALE=1 k6/meta.js   (refuses a demo database)
import { options as scenarioOptions, setupData, iterate, summary } from './lib.js';

const NAME = 'meta';

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
