// API keys and per-key limits at sb-edge, through the official OpenAI Node SDK (driven by
// edge_auth_test.cpp, which starts the suite, makes the keys with `sbctl key create`, and
// names the check to run: node edge_auth.cjs CHECK). Prints "ok CHECK" or throws.
// Environment: EDGE_A, EDGE_B (base URLs of two edges on one Redis), EDGE_A_PID,
// EDGE_A_ADMIN (its admin listener), SBCTL, KEY_FILE, and KEY_<NAME> for each key made.
'use strict';
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const OpenAI = require('openai');

const env = process.env;
const user = [{ role: 'user', content: 'hello' }];

// A client that records the status of every HTTP answer it gets (its retries included).
function client(apiKey, { base = env.EDGE_A, maxRetries = 0 } = {}) {
  const statuses = [];
  const c = new OpenAI({
    baseURL: base, apiKey, maxRetries,
    fetch: async (url, init) => {
      const r = await fetch(url, init);
      statuses.push(r.status);
      return r;
    },
  });
  c.statuses = statuses;
  return c;
}

function header(h, name) {
  if (!h) return undefined;
  return typeof h.get === 'function' ? h.get(name) ?? undefined : h[name];
}

async function chat(c, extra = {}) {
  return c.chat.completions.create({ model: 'demo', messages: user, max_tokens: 2, ...extra })
    .withResponse();
}

async function refused(promise, type) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof type, `${e.constructor.name}: ${e.message}`);
    return e;
  }
  assert.fail(`expected ${type.name}`);
}

async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function reloads() {
  const text = await (await fetch(`${env.EDGE_A_ADMIN}/metrics`)).text();
  const m = text.match(/^sb_edge_api_key_reloads_total\{result="ok"\} (\d+)/m);
  return m ? Number(m[1]) : 0;
}

// SIGHUP to edge A, then wait for the reload to be counted (the event, not a sleep).
async function reload() {
  const before = await reloads();
  process.kill(Number(env.EDGE_A_PID), 'SIGHUP');
  await until('the key reload', async () => (await reloads()) > before);
}

const checks = {
  async missingKey() {
    for (const path of ['/chat/completions', '/models', '/embeddings']) {
      const r = await fetch(env.EDGE_A + path, {
        method: path === '/models' ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: path === '/models' ? undefined : JSON.stringify({ model: 'demo', messages: user }),
      });
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get('www-authenticate'), /^Bearer/);
      const body = await r.json();
      assert.equal(body.error.code, 'missing_api_key');
    }
  },

  async wrongKey() {
    const c = client('sk-sb-not-a-key-at-all', { maxRetries: 2 });
    const e = await refused(chat(c), OpenAI.AuthenticationError);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    assert.ok(!e.message.includes('sk-sb-not-a-key'), 'the key is not echoed');
    assert.deepEqual(c.statuses, [401]);  // the SDK does not retry a 401
    await refused(c.models.list(), OpenAI.AuthenticationError);
  },

  async goodKey() {
    const c = client(env.KEY_OPEN);
    const { data, response } = await chat(c);
    assert.equal(data.object, 'chat.completion');
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), null);  // no limits
    const models = [];
    for await (const m of c.models.list()) models.push(m.id);
    assert.deepEqual(models.sort(), ['demo', 'other']);
    // The Azure-style header works too.
    const r = await fetch(`${env.EDGE_A}/models`, { headers: { 'api-key': env.KEY_OPEN } });
    assert.equal(r.status, 200);
  },

  async modelNotAllowed() {
    const c = client(env.KEY_MODEL, { maxRetries: 2 });
    const e = await refused(chat(c), OpenAI.PermissionDeniedError);
    assert.equal(e.status, 403);
    assert.equal(e.code, 'model_not_allowed');
    assert.equal(header(e.headers, 'x-should-retry'), 'false');
    assert.deepEqual(c.statuses, [403]);
    const { data } = await chat(c, { model: 'other' });
    assert.equal(data.model, 'other');
    const models = [];
    for await (const m of c.models.list()) models.push(m.id);
    assert.deepEqual(models, ['other']);  // a key lists what it may use
    // and retrieves only that: another model is "not found", whether it exists or not.
    assert.equal((await c.models.retrieve('other')).id, 'other');
    for (const id of ['demo', 'no-such-model']) {
      const missing = await refused(c.models.retrieve(id), OpenAI.NotFoundError);
      assert.equal(missing.code, 'model_not_found');
      assert.match(missing.message, /does not exist or this API key may not use it/);
    }
  },

  async requestsPerMinuteAndTheSdksOwnRetry() {
    const c = client(env.KEY_RPM);
    const remaining = [];
    for (let i = 0; i < 30; ++i) {
      const { response } = await chat(c);
      assert.equal(response.headers.get('x-ratelimit-limit-requests'), '30');
      remaining.push(Number(response.headers.get('x-ratelimit-remaining-requests')));
    }
    assert.deepEqual(remaining, Array.from({ length: 30 }, (_, i) => 29 - i));
    const e = await refused(chat(c), OpenAI.RateLimitError);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.equal(e.error.type, 'requests');
    const ms = Number(header(e.headers, 'retry-after-ms'));
    assert.ok(ms > 0 && ms <= 2000, `retry-after-ms ${ms}`);
    assert.equal(header(e.headers, 'retry-after'), String(Math.ceil(ms / 1000)));
    assert.equal(header(e.headers, 'x-ratelimit-remaining-requests'), '0');
    // The SDK waits retry-after-ms by itself, and that is long enough: one 429, then the answer.
    const patient = client(env.KEY_RPM, { maxRetries: 2 });
    const { data } = await chat(patient);
    assert.equal(data.object, 'chat.completion');
    assert.deepEqual(patient.statuses, [429, 200]);
  },

  async oneBudgetAcrossTwoEdges() {
    const a = client(env.KEY_SHARED), b = client(env.KEY_SHARED, { base: env.EDGE_B });
    const left = [];
    for (const c of [a, a, b, b]) {
      const { response } = await chat(c);
      left.push(response.headers.get('x-ratelimit-remaining-requests'));
    }
    assert.deepEqual(left, ['3', '2', '1', '0']);
    await refused(chat(a), OpenAI.RateLimitError);
    await refused(chat(b), OpenAI.RateLimitError);
  },

  async tokensPerMinuteCountWhatAnswersUsed() {
    const c = client(env.KEY_TOKENS);
    const { data, response } = await chat(c, { max_tokens: 30 });
    assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '20');
    assert.equal(response.headers.get('x-ratelimit-remaining-tokens'), '20');
    assert.ok(data.usage.total_tokens > 20, JSON.stringify(data.usage));
    const e = await refused(chat(c), OpenAI.RateLimitError);
    assert.equal(e.error.type, 'tokens');
    assert.equal(header(e.headers, 'x-ratelimit-remaining-tokens'), '0');
  },

  async concurrentRequests() {
    const c = client(env.KEY_CONC);
    const controller = new AbortController();
    const stream = await c.chat.completions.create(
      { model: 'demo', messages: user, max_tokens: 100000, stream: true },
      { signal: controller.signal });
    const it = stream[Symbol.asyncIterator]();
    await it.next();  // the first stream holds the key's only place
    const e = await refused(chat(c), OpenAI.RateLimitError);
    assert.match(e.message, /in flight/);
    controller.abort();
    await it.next().catch(() => {});
    // Once the edge has freed the place, the SDK's own retries get through.
    const patient = client(env.KEY_CONC, { maxRetries: 8 });
    const { data } = await chat(patient);
    assert.equal(data.object, 'chat.completion');
    assert.equal(patient.statuses[patient.statuses.length - 1], 200);
  },

  async reloadTakesEffectAndKeepsWhatIsInFlight() {
    const open = client(env.KEY_OPEN), doomed = client(env.KEY_REVOKED);
    const stream = await open.chat.completions.create(
      { model: 'demo', messages: user, max_tokens: 400, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await chat(doomed);
    execFileSync(env.SBCTL, ['key', 'revoke', 'revoked', '--api-keys', env.KEY_FILE]);
    const fresh = execFileSync(env.SBCTL, ['key', 'create', 'fresh', '--api-keys', env.KEY_FILE],
                               { encoding: 'utf8' }).trim();
    await reload();
    const e = await refused(chat(doomed), OpenAI.AuthenticationError);
    assert.equal(e.code, 'invalid_api_key');
    await chat(client(fresh));
    await chat(open);
    // The stream that was running through the reload ends as it would have.
    let finish = null;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      finish = r.value.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'length');
    // A broken file is refused and the keys in force stay.
    require('node:fs').appendFileSync(env.KEY_FILE, '\n[[key]]\nname = "broken"\n');
    process.kill(Number(env.EDGE_A_PID), 'SIGHUP');
    await until('the failed reload', async () => {
      const text = await (await fetch(`${env.EDGE_A_ADMIN}/metrics`)).text();
      return /^sb_edge_api_key_reloads_total\{result="error"\} 1/m.test(text);
    });
    await chat(client(fresh));
  },

  async sessionsBelongToTheirKey() {
    // The same X-Session-Id under two keys: the second key's first turn starts empty, and
    // the first key's history never grows with it.
    const headers = { 'X-Session-Id': 'chat-1' };
    const turn = (c) => c.chat.completions.create(
      { model: 'demo', messages: user, max_tokens: 2 }, { headers });
    const open = client(env.KEY_OPEN), ann = client(env['KEY_ANN@EXAMPLE.ORG']);
    const first = await turn(open);
    const second = await turn(open);
    assert.ok(second.usage.prompt_tokens > first.usage.prompt_tokens);  // the history went along
    const other = await turn(ann);
    assert.equal(other.usage.prompt_tokens, first.usage.prompt_tokens);  // none went along here
    await turn(open);
  },

  async redisDown() {
    // Edge A lets requests through when Redis cannot be asked; edge B refuses them.
    const { data } = await chat(client(env.KEY_RPM));
    assert.equal(data.object, 'chat.completion');
    const e = await refused(chat(client(env.KEY_RPM, { base: env.EDGE_B })),
                            OpenAI.InternalServerError);
    assert.equal(e.status, 503);
    assert.equal(e.code, 'rate_limiter_unavailable');
    // A key without limits never needed Redis.
    await chat(client(env.KEY_OPEN, { base: env.EDGE_B }));
  },
};

const name = process.argv[2];
if (!checks[name]) throw new Error(`no check ${name}`);
checks[name]().then(() => console.log(`ok ${name}`), (e) => {
  console.error(`FAIL ${name}: ${e.stack}`);
  process.exit(1);
});
