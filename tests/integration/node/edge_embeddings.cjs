// The official OpenAI Node SDK's embeddings.create against sb-edge and sb-embedding-cache
// (driven by edge_sdk_test.cpp, whose scripted backend gives 8 values per text, or
// `dimensions` of them). Each check prints "ok <name>" or throws; exit code 0 = all.
'use strict';
const assert = require('node:assert/strict');
const OpenAI = require('openai');

const client = new OpenAI({ baseURL: process.env.EDGE_URL, apiKey: 'unused', maxRetries: 0 });
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const checks = {
  async defaultEncodingIsBase64AndDecodesToTheFloats() {
    // The SDK asks for base64 unless told otherwise, and decodes it into numbers.
    const b64 = await client.embeddings.create({ model: 'm', input: 'hello embeddings' });
    const flt = await client.embeddings.create({
      model: 'm', input: 'hello embeddings', encoding_format: 'float',
    });
    assert.equal(b64.object, 'list');
    assert.equal(b64.model, 'm');
    assert.equal(b64.data.length, 1);
    assert.equal(b64.data[0].object, 'embedding');
    assert.equal(b64.data[0].index, 0);
    assert.equal(b64.data[0].embedding.length, 8);
    // The same float32 values: the float text is the shortest that reads back as each one.
    assert.deepEqual(b64.data[0].embedding, flt.data[0].embedding.map(Math.fround));
    assert.ok(Math.abs(norm(flt.data[0].embedding) - 1) < 1e-5);
    assert.ok(b64.usage.prompt_tokens > 0);
    assert.equal(b64.usage.total_tokens, b64.usage.prompt_tokens);
  },

  async arrayInputKeepsOrder() {
    const texts = ['first text', 'second text', 'first text', 'third'];
    const r = await client.embeddings.create({ model: 'm', input: texts, encoding_format: 'float' });
    assert.deepEqual(r.data.map((d) => d.index), [0, 1, 2, 3]);
    assert.deepEqual(r.data[0].embedding, r.data[2].embedding);
    assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
  },

  async dimensions() {
    const r = await client.embeddings.create({ model: 'm', input: 'shorter', dimensions: 4 });
    assert.equal(r.data[0].embedding.length, 4);
  },

  async tokenIdsAreA400ThatSaysSo() {
    await assert.rejects(
      client.embeddings.create({ model: 'm', input: [[1, 2, 3]] }),
      (e) => e instanceof OpenAI.BadRequestError && /token ids/.test(e.message));
  },

  async emptyInputIsA400() {
    await assert.rejects(client.embeddings.create({ model: 'm', input: '' }),
      (e) => e instanceof OpenAI.BadRequestError && e.param === 'input');
  },
};

(async () => {
  for (const [name, check] of Object.entries(checks)) {
    await check();
    console.log(`ok ${name}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
