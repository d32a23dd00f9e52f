// A module resolve hook for drive.mjs, for tests only: k6 fetches jslib
// modules over the network, node here has none, so they resolve to the
// stand-ins of k6/.
const stand = {
  'https://jslib.k6.io/k6-summary/0.1.0/index.js': './node_modules/k6/summary.js',
};

export async function resolve(specifier, context, next) {
  if (stand[specifier]) {
    return { url: new URL(stand[specifier], import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
