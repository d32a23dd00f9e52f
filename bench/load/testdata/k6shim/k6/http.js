// A stand-in for k6/http under node, for tests only: synchronous requests
// through curl, recorded in globalThis.__requests.
import { execFileSync } from 'node:child_process';

function request(method, url, body, params) {
  const args = ['-s', '-X', method, '-o', '-', '-w', '\n%{http_code}', url];
  for (const [k, v] of Object.entries((params && params.headers) || {})) {
    args.push('-H', `${k}: ${v}`);
  }
  if (body !== null && body !== undefined) {
    args.push('--data-binary', '@-');
  }
  const out = execFileSync('curl', args, { input: body ?? '', encoding: 'utf8' });
  const nl = out.lastIndexOf('\n');
  const res = {
    status: Number(out.slice(nl + 1)),
    body: out.slice(0, nl),
    json() {
      return JSON.parse(this.body);
    },
  };
  globalThis.__requests.push({
    method: method,
    url: url,
    body: body ?? null,
    op: (params && params.tags && params.tags.op) || '',
    status: res.status,
  });
  return res;
}

export default {
  get: (url, params) => request('GET', url, null, params),
  post: (url, body, params) => request('POST', url, body, params),
  put: (url, body, params) => request('PUT', url, body, params),
  expectedStatuses: (...statuses) => ({ expectedStatuses: statuses }),
};
