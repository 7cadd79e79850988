// TLS on sb-edge's listener, through the official OpenAI Node SDK and node:tls (driven by
// edge_tls_test.cpp, which makes a root CA, an intermediate and two certificates with the
// openssl CLI, and starts the suite; node trusts the root through NODE_EXTRA_CA_CERTS).
// Prints "ok CHECK" or throws. Environment: EDGE (https base URL), EDGE_PORT, EDGE_PID,
// EDGE_ADMIN, CERT_FILE and KEY_FILE (what the edge serves), TWO_CERT and TWO_KEY (the second
// certificate with its chain, and its key).
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const tls = require('node:tls');
const OpenAI = require('openai');

const env = process.env;
const user = [{ role: 'user', content: 'hello' }];
const sdk = (baseURL = env.EDGE) => new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });

// The certificate a new connection is given (verified against the trusted roots), by CN.
function servedName() {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: Number(env.EDGE_PORT) }, () => {
      assert.ok(s.authorized, `not verified: ${s.authorizationError}`);
      const name = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(name);
    });
    s.on('error', reject);
  });
}

// The TLS version a handshake limited to `opts` settles on, or the error that ended it.
function negotiate(opts) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: Number(env.EDGE_PORT), ...opts }, () => {
      resolve(s.getProtocol());
      s.end();
    });
    s.on('error', (e) => resolve(`refused: ${e.code}`));
  });
}

async function counted(result) {
  const text = await (await fetch(`${env.EDGE_ADMIN}/metrics`)).text();
  const m = text.match(new RegExp(`^sb_edge_tls_reloads_total\\{result="${result}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}

// SIGHUP to the edge, then wait until the reload is counted (the event, not a sleep).
async function reload(result) {
  const before = await counted(result);
  process.kill(Number(env.EDGE_PID), 'SIGHUP');
  const end = Date.now() + 10000;
  while ((await counted(result)) === before) {
    assert.ok(Date.now() < end, `no ${result} reload counted`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Until the edge has `n` requests in flight (its metrics), for up to 5 s: a request that
// would take 20 s shows its end long before.
async function inFlight(n) {
  const end = Date.now() + 5000;
  for (;;) {
    const text = await (await fetch(`${env.EDGE_ADMIN}/metrics`)).text();
    if (new RegExp(`^sb_edge_inflight_requests ${n}$`, 'm').test(text)) return;
    assert.ok(Date.now() < end, `never ${n} requests in flight`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const checks = {
  async sdkOverHttps() {
    const c = sdk();
    const models = await c.models.list();
    assert.ok(models.data.some((m) => m.id === 'demo'));
    const done = await c.chat.completions.create({ model: 'demo', messages: user, max_tokens: 5 });
    assert.equal(done.choices[0].finish_reason, 'length');
    let text = '';
    const stream = await c.chat.completions.create(
      { model: 'demo', messages: user, max_tokens: 5, stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.ok(text.length > 0);
    // TLS 1.3 and 1.2 only: a client that offers at most 1.1 (allowed on its side) is refused.
    assert.equal(await negotiate({}), 'TLSv1.3');
    assert.equal(await negotiate({ maxVersion: 'TLSv1.2' }), 'TLSv1.2');
    assert.match(await negotiate({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1',
                                   ciphers: 'DEFAULT@SECLEVEL=0' }), /^refused/);
    // Plain HTTP to the TLS port gets no HTTP answer at all: a connection error, not a reply.
    await assert.rejects(sdk(env.EDGE.replace('https:', 'http:')).models.list(),
                         OpenAI.APIConnectionError);
  },

  async reloadSwapsTheCertificateAndKeepsWhatRuns() {
    assert.equal(await servedName(), 'edge-one');
    const stream = await sdk().chat.completions.create(
      { model: 'demo', messages: user, max_tokens: 300, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    // The key first, then the certificate, each replaced whole (as a deploy tool would).
    fs.copyFileSync(env.TWO_KEY, env.KEY_FILE);
    fs.copyFileSync(env.TWO_CERT, env.CERT_FILE);
    await reload('ok');
    // New connections get the new certificate and its chain (the client trusts only the root).
    assert.equal(await servedName(), 'edge-two');
    const done = await sdk().chat.completions.create({ model: 'demo', messages: user, max_tokens: 3 });
    assert.equal(done.choices[0].finish_reason, 'length');
    // The stream that ran through the reload ends as it would have.
    let finish = null, chunks = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      finish = r.value.choices[0]?.finish_reason ?? finish;
      ++chunks;
    }
    assert.equal(finish, 'length');
    assert.ok(chunks > 100, `${chunks} chunks`);
    // A key that is not the certificate's is refused, and the pair in force stays.
    fs.copyFileSync(env.ONE_KEY, env.KEY_FILE);
    await reload('error');
    assert.equal(await servedName(), 'edge-two');
    await sdk().models.list();
  },

  async aClientThatLeavesIsNoticed() {
    // A long answer that is not streamed: the edge holds the request until it is whole, so
    // only the connection's close can tell it that nobody waits any more. Two ways to leave:
    // the SDK's abort (the socket is destroyed: a bare FIN), and a polite TLS close (a
    // close_notify alert, then the FIN), as curl and browsers do.
    const body = JSON.stringify({ model: 'demo', messages: user, max_tokens: 4000 });
    const controller = new AbortController();
    const pending = sdk().chat.completions.create(JSON.parse(body), { signal: controller.signal });
    await inFlight(1);
    controller.abort();
    await assert.rejects(pending, OpenAI.APIUserAbortError);
    await inFlight(0);
    const s = tls.connect({ host: '127.0.0.1', port: Number(env.EDGE_PORT) });
    await new Promise((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); });
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await inFlight(1);
    s.end();  // close_notify, then FIN
    await inFlight(0);
  },
};

const name = process.argv[2];
if (!checks[name]) throw new Error(`no check ${name}`);
checks[name]().then(() => console.log(`ok ${name}`), (e) => {
  console.error(`FAIL ${name}: ${e.stack}`);
  process.exit(1);
});
