// A stand-in for https://jslib.k6.io/k6-summary/0.1.0/index.js under node,
// for tests only: textSummary names what it was given.
export function textSummary(data, options) {
  return `text summary of ${Object.keys(data.metrics).length} metrics, indent ${JSON.stringify(options.indent)}\n`;
}
