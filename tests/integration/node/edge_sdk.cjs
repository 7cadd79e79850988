// The official OpenAI Node SDK against sb-edge (driven by edge_sdk_test.cpp, which starts the
// suite and a scripted backend). Each check prints "ok <name>" or throws; exit code 0 = all.
// The backend's script is chosen by the last user message: hello (default), tools, think,
// slow (streams until the client goes), hold (a slow answer), count (says how many messages
// it got).
'use strict';
const assert = require('node:assert/strict');
const OpenAI = require('openai');

const client = new OpenAI({ baseURL: process.env.EDGE_URL, apiKey: 'unused', maxRetries: 2 });
const user = (content) => [{ role: 'user', content }];

async function collect(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

const checks = {
  async nonStreamed() {
    const { data, response } = await client.chat.completions
      .create({ model: 'm', messages: user('hello') })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.match(data.id, /^chatcmpl-/);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, 'Hello world');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(
      [data.usage.prompt_tokens, data.usage.completion_tokens, data.usage.total_tokens], [3, 2, 5]);
    assert.equal(data.usage.prompt_tokens_details.cached_tokens, 1);
    assert.match(response.headers.get('x-request-id'), /^req_/);
  },

  async streamedWithUsage() {
    const chunks = await collect(await client.chat.completions.create({
      model: 'm', messages: user('hello'), stream: true, stream_options: { include_usage: true },
    }));
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 2);
    for (const c of chunks.slice(0, -1)) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.usage, null);
    }
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const text = chunks.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('');
    assert.equal(text, 'Hello world');
    const finish = chunks.flatMap((c) => c.choices).filter((c) => c.finish_reason);
    assert.deepEqual(finish.map((c) => c.finish_reason), ['stop']);
  },

  async streamedToolCall() {
    const chunks = await collect(await client.chat.completions.create({
      model: 'm', messages: user('tools'), stream: true,
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
    }));
    let args = '', name = '', id = '';
    for (const c of chunks) {
      for (const call of c.choices[0]?.delta?.tool_calls ?? []) {
        id += call.id ?? '';
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
    }
    assert.equal(id, 'call_1');
    assert.equal(name, 'weather');
    assert.deepEqual(JSON.parse(args), { city: 'Oslo', unit: 'celsius' });
    const finish = chunks.flatMap((c) => c.choices).filter((c) => c.finish_reason);
    assert.deepEqual(finish.map((c) => c.finish_reason), ['tool_calls']);
    // The same answer whole: one message with the call's arguments joined.
    const whole = await client.chat.completions.create({ model: 'm', messages: user('tools') });
    const call = whole.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Oslo', unit: 'celsius' });
    assert.equal(whole.choices[0].message.content, null);
    assert.equal(whole.choices[0].finish_reason, 'tool_calls');
  },

  async reasoning() {
    const chunks = await collect(await client.chat.completions.create({
      model: 'm', messages: user('think'), stream: true,
    }));
    const deltas = chunks.flatMap((c) => c.choices).map((c) => c.delta);
    assert.equal(deltas.map((d) => d.reasoning_content ?? '').join(''), 'Let me think. ');
    assert.equal(deltas.map((d) => d.content ?? '').join(''), '42');
  },

  async twoChoices() {
    const r = await client.chat.completions.create({ model: 'm', messages: user('hello'), n: 2 });
    assert.equal(r.choices.length, 2);
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
    assert.deepEqual(r.choices.map((c) => c.message.content), ['first', 'second']);
  },

  async models() {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('m'), ids.join(','));
    const one = await client.models.retrieve('m');
    assert.equal(one.object, 'model');
  },

  async errors() {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: user('x') }),
      (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [] }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'messages');
  },

  async retriesA429() {
    // 'hold' takes the backend's only slot for a while; the next request gets 429 with
    // retry-after-ms, and the SDK's own retry, after that wait, succeeds.
    const hold = await client.chat.completions.create({ model: 'm', messages: user('hold'), stream: true });
    const it = hold[Symbol.asyncIterator]();
    await it.next();  // dispatched: the slot is taken
    const started = Date.now();
    const r = await client.chat.completions.create({ model: 'm', messages: user('hello') });
    assert.equal(r.choices[0].message.content, 'Hello world');
    assert.ok(Date.now() - started >= 900, 'the SDK waited for retry-after-ms');
    while (!(await it.next()).done) { /* drain */ }
  },

  async abortMidStream() {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'm', messages: user('slow'), stream: true }, { signal: controller.signal });
    let n = 0;
    // The SDK ends the iteration quietly on its own abort; the backend would stream on for
    // 20 s, so an iteration that ends here ended by the abort (the test's C++ side checks
    // that the backend saw its connection close).
    for await (const c of stream) {
      if (++n === 3) controller.abort();
    }
    assert.ok(controller.signal.aborted);
    assert.ok(n < 50, `the stream went on after the abort (${n} chunks)`);
  },

  async sessionTurns() {
    const headers = { 'X-Session-Id': 'sdk-session-' + process.pid };
    const a = await client.chat.completions.create({ model: 'm', messages: user('count') }, { headers });
    assert.equal(a.choices[0].message.content, '1 messages');
    const b = await client.chat.completions.create({ model: 'm', messages: user('count') }, { headers });
    assert.equal(b.choices[0].message.content, '3 messages');  // the first turn, kept server-side
    // A reasoning answer is stored without its reasoning (servers refuse it in later requests).
    const c = await client.chat.completions.create({ model: 'm', messages: user('think') }, { headers });
    assert.equal(c.choices[0].message.reasoning_content, 'Let me think. ');
    const d = await client.chat.completions.create({ model: 'm', messages: user('count') }, { headers });
    assert.equal(d.choices[0].message.content, '7 messages');
  },
};

(async () => {
  const only = process.argv.slice(2);
  for (const [name, check] of Object.entries(checks)) {
    if (only.length && !only.includes(name)) continue;
    await check();
    console.log('ok', name);
  }
})().catch((e) => {
  console.error('FAILED:', e);
  process.exit(1);
});
