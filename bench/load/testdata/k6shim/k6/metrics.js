// A stand-in for k6/metrics under node, for tests only: a Counter adds to
// globalThis.__metrics[name][tags as JSON], a Gauge sets it.
export class Counter {
  constructor(name) {
    this.name = name;
  }

  add(value, tags) {
    const m = (globalThis.__metrics[this.name] ||= {});
    const k = JSON.stringify(tags || {});
    m[k] = (m[k] || 0) + value;
  }
}

export class Gauge {
  constructor(name) {
    this.name = name;
  }

  add(value, tags) {
    const m = (globalThis.__metrics[this.name] ||= {});
    m[JSON.stringify(tags || {})] = value;
  }
}
