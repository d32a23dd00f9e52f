// A stand-in for k6's "k6" module under node, for tests only: check()
// counts results in globalThis.__checks, fail() throws as k6's does.
export function check(value, sets) {
  let ok = true;
  for (const [name, fn] of Object.entries(sets)) {
    const pass = Boolean(fn(value));
    const c = (globalThis.__checks[name] ||= { passes: 0, fails: 0 });
    if (pass) c.passes++;
    else c.fails++;
    ok = ok && pass;
  }
  return ok;
}

export function fail(message) {
  throw new Error(message);
}
