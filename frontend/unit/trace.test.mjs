// @ts-check
// A trace made readable (src/lib/trace.ts): the waterfall's nesting, orphans and cycles, its time
// layout, the tree's keys, and GenAI messages in the shapes clients send.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  attributeEntries,
  axisTicks,
  bar,
  conversation,
  formatMs,
  MIN_BAR_PCT,
  normalizeMessages,
  relativeStarts,
  roleClass,
  spanCategory,
  spanEvents,
  traceIdFor,
  treeMove,
  visibleRows,
  waterfall,
} from '../src/lib/trace.ts';

const T0 = 1_764_900_000_000;

/**
 * A span with only what the layout reads.
 * @param {string} id
 * @param {string | null} parent
 * @param {number} start ms after T0
 * @param {number} duration
 * @param {Record<string, unknown>} [more]
 * @returns {any}
 */
function span(id, parent, start, duration, more = {}) {
  return { span_id: id, parent_span_id: parent, name: id, kind: 'internal', started_at: T0 + start, duration_ms: duration, status: 'unset', tokens: null, ...more };
}

/** @param {{rows: {key: string, depth: number}[]}} w */
const shape = (w) => w.rows.map((r) => `${'  '.repeat(r.depth)}${r.key}`);

describe('the waterfall tree', () => {
  test('children nest under their parents, siblings by start, whatever order the spans came in', () => {
    const w = waterfall([span('tool', 'chat2', 70, 10), span('chat2', 'agent', 60, 30), span('agent', null, 0, 100), span('chat1', 'agent', 5, 40)]);
    assert.deepEqual(shape(w), ['agent', '  chat1', '  chat2', '    tool']);
    const agent = w.rows[0];
    assert.equal(agent?.childCount, 2);
    assert.equal(agent?.parentKey, null);
    assert.equal(w.rows[3]?.parentKey, 'chat2');
    assert.ok(w.rows.every((r) => !r.orphan && !r.cycle));
  });

  test('a span whose parent is missing stays at the top level, marked, in time order with the roots', () => {
    const w = waterfall([span('root', null, 10, 50), span('lost', 'not-here', 0, 5), span('child', 'lost', 1, 2)]);
    assert.deepEqual(shape(w), ['lost', '  child', 'root']);
    assert.equal(w.rows[0]?.orphan, true);
    assert.equal(w.rows[1]?.orphan, false);
    assert.equal(w.rows[2]?.orphan, false);
  });

  test('a parent cycle is broken at its earliest span; every span shows exactly once', () => {
    const w = waterfall([span('a', 'c', 5, 1), span('b', 'a', 6, 1), span('c', 'b', 7, 1), span('root', null, 0, 10), span('self', 'self', 8, 1)]);
    assert.deepEqual(shape(w), ['root', 'a', '  b', '    c', 'self']);
    assert.equal(w.rows.find((r) => r.key === 'a')?.cycle, true);
    assert.equal(w.rows.find((r) => r.key === 'a')?.childCount, 1);
    assert.equal(w.rows.find((r) => r.key === 'c')?.childCount, 0, 'the lifted span is not also c’s child');
    assert.equal(w.rows.find((r) => r.key === 'self')?.orphan, true);
  });

  test('a repeated span id keeps both spans under unique keys', () => {
    const w = waterfall([span('x', null, 0, 1), span('x', null, 1, 1)]);
    assert.deepEqual(
      w.rows.map((r) => r.key),
      ['x', 'x~1'],
    );
  });

  test('no spans: no rows and a zero axis', () => {
    assert.deepEqual(waterfall([]), { rows: [], totalMs: 0 });
  });

  test('a deep chain (2,000 spans) does not overflow anything', () => {
    const spans = Array.from({ length: 2000 }, (_, i) => span(`s${i}`, i ? `s${i - 1}` : null, i, 1));
    const w = waterfall(spans);
    assert.equal(w.rows.length, 2000);
    assert.equal(w.rows[1999]?.depth, 1999);
  });
});

describe('the time axis', () => {
  test('bars are offset and sized by start and duration as percentages of the whole trace', () => {
    const w = waterfall([span('root', null, 0, 200), span('a', 'root', 50, 100), span('b', 'root', 150, 50)]);
    assert.equal(w.totalMs, 200);
    assert.deepEqual(
      w.rows.map((r) => [r.key, r.offsetMs, r.left, r.width]),
      [
        ['root', 0, 0, 100],
        ['a', 50, 25, 50],
        ['b', 150, 75, 25],
      ],
    );
  });

  test('the axis runs from the earliest span to the last end, or the trace’s duration if longer', () => {
    assert.equal(waterfall([span('a', null, 100, 50), span('b', null, 400, 100)]).totalMs, 400);
    assert.equal(waterfall([span('a', null, 0, 50)], 80).totalMs, 80);
  });

  test('sub-millisecond offsets from the server are used when every span has one', () => {
    const spans = [span('a', null, 0, 1.5, { offset_ms: 0.25 }), span('b', 'a', 0, 0.5, { offset_ms: 1.25 })];
    assert.deepEqual(relativeStarts(spans), [0, 1]);
    assert.deepEqual(relativeStarts([span('a', null, 3, 1), span('b', null, 0, 1, { offset_ms: 9 })]), [3, 0]);
  });

  test('a tiny or zero-length span still gets a visible bar, kept inside the axis', () => {
    assert.deepEqual(bar(1000, 0, 1000), { left: 100 - MIN_BAR_PCT, width: MIN_BAR_PCT });
    assert.deepEqual(bar(0, 0.001, 1000), { left: 0, width: MIN_BAR_PCT });
    assert.deepEqual(bar(-5, 2000, 1000), { left: 0, width: 100 });
    assert.deepEqual(bar(10, 10, 0), { left: 0, width: 100 });
    assert.deepEqual(bar(Number.NaN, Number.NaN, 100), { left: 0, width: MIN_BAR_PCT });
    assert.deepEqual(bar(1, 1, 3), { left: 33.3333, width: 33.3333 });
  });

  test('ticks fall on round steps across the axis', () => {
    assert.deepEqual(
      axisTicks(1000).map((t) => t.ms),
      [0, 250, 500, 750, 1000],
    );
    assert.deepEqual(
      axisTicks(730).map((t) => t.ms),
      [0, 200, 400, 600],
    );
    assert.deepEqual(
      axisTicks(3).map((t) => [t.ms, t.pct]),
      [
        [0, 0],
        [1, 33.3333],
        [2, 66.6667],
        [3, 100],
      ],
    );
    assert.deepEqual(axisTicks(0), [{ ms: 0, pct: 0 }]);
  });

  test('durations read in the unit that suits them', () => {
    assert.equal(formatMs(0.4213), '0.42 ms');
    assert.equal(formatMs(4.25), '4.3 ms');
    assert.equal(formatMs(850.2), '850 ms');
    assert.equal(formatMs(999.7), '1.00 s');
    assert.equal(formatMs(1250), '1.25 s');
    assert.equal(formatMs(12_540), '12.5 s');
    assert.equal(formatMs(125_000), '2 min 5 s');
    assert.equal(formatMs(0), '0 ms');
    assert.equal(formatMs(-3), '0 ms');
    assert.equal(formatMs(null), '—');
  });
});

describe('the tree’s keys', () => {
  const { rows } = waterfall([span('root', null, 0, 10), span('a', 'root', 1, 5), span('a1', 'a', 2, 1), span('b', 'root', 6, 2)]);
  const none = new Set();

  test('folding a row hides its descendants, not its siblings', () => {
    assert.deepEqual(
      visibleRows(rows, new Set(['a'])).map((r) => r.key),
      ['root', 'a', 'b'],
    );
    assert.deepEqual(
      visibleRows(rows, new Set(['root'])).map((r) => r.key),
      ['root'],
    );
    assert.deepEqual(
      visibleRows(rows, new Set(['a1'])).map((r) => r.key),
      ['root', 'a', 'a1', 'b'],
      'a leaf cannot fold',
    );
  });

  test('up, down, home and end move along the visible rows', () => {
    const v = visibleRows(rows, none);
    assert.deepEqual(treeMove(v, 'root', 'ArrowDown', none), { select: 'a' });
    assert.deepEqual(treeMove(v, 'a1', 'ArrowUp', none), { select: 'a' });
    assert.deepEqual(treeMove(v, 'root', 'ArrowUp', none), null);
    assert.deepEqual(treeMove(v, 'b', 'ArrowDown', none), null);
    assert.deepEqual(treeMove(v, 'a', 'End', none), { select: 'b' });
    assert.deepEqual(treeMove(v, 'b', 'Home', none), { select: 'root' });
    assert.deepEqual(treeMove(v, null, 'ArrowDown', none), { select: 'root' });
    assert.deepEqual(treeMove(v, 'a', 'Enter', none), null);
  });

  test('left folds, then goes to the parent; right unfolds, then goes to the first child', () => {
    const folded = new Set(['a']);
    const v = visibleRows(rows, folded);
    assert.deepEqual(treeMove(visibleRows(rows, none), 'a', 'ArrowLeft', none), { toggle: 'a' });
    assert.deepEqual(treeMove(v, 'a', 'ArrowLeft', folded), { select: 'root' });
    assert.deepEqual(treeMove(v, 'a', 'ArrowRight', folded), { toggle: 'a' });
    assert.deepEqual(treeMove(visibleRows(rows, none), 'a', 'ArrowRight', none), { select: 'a1' });
    assert.deepEqual(treeMove(v, 'b', 'ArrowRight', folded), null, 'a leaf has nothing to open');
    assert.deepEqual(treeMove(v, 'root', 'ArrowLeft', new Set(['root'])), null, 'a folded top row stays');
  });
});

describe('what a span is', () => {
  test('by its GenAI operation first, then by what it carries', () => {
    assert.equal(spanCategory({ operation: 'invoke_agent', tokens: { input: 1 }, tool: null, model: null }), 'agent');
    assert.equal(spanCategory({ operation: 'chat', tokens: null, tool: null, model: 'gpt-4o' }), 'llm');
    assert.equal(spanCategory({ operation: null, tokens: { input: 3 }, tool: null, model: null }), 'llm');
    assert.equal(spanCategory({ operation: 'execute_tool', tokens: null, tool: 'search', model: null }), 'tool');
    assert.equal(spanCategory({ operation: null, tokens: null, tool: 'search', model: null }), 'tool');
    assert.equal(spanCategory({ operation: null, tokens: null, tool: null, model: null }), 'other');
  });

  test('an execution’s trace: its own trace_id when it has one, else its UUID without dashes', () => {
    assert.equal(traceIdFor({ id: '0193A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B' }), '0193a1b2c3d47e5f8a9b0c1d2e3f4a5b');
    assert.equal(traceIdFor({ id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', trace_id: 'ABCDEF0123456789ABCDEF0123456789' }), 'abcdef0123456789abcdef0123456789');
    assert.equal(traceIdFor({ id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', trace_id: null }), '0193a1b2c3d47e5f8a9b0c1d2e3f4a5b');
    assert.equal(traceIdFor({ id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', trace_id: 'not-hex' }), '0193a1b2c3d47e5f8a9b0c1d2e3f4a5b');
  });

  test('attributes read sorted, values that are not text as JSON', () => {
    assert.deepEqual(attributeEntries({ 'gen_ai.request.model': 'gpt-4o', a: 1, list: ['x'], flag: true }), [
      ['a', '1'],
      ['flag', 'true'],
      ['gen_ai.request.model', 'gpt-4o'],
      ['list', '[\n  "x"\n]'],
    ]);
    assert.deepEqual(attributeEntries(null), []);
    assert.deepEqual(attributeEntries(['a']), []);
  });

  test('events keep their name, time (any of the fields) and attributes', () => {
    assert.deepEqual(
      spanEvents([
        { name: 'exception', time: T0, attributes: { 'exception.type': 'ValueError' } },
        { name: 'retry', time_ms: T0 + 1.5 },
        { time_unix_nano: String((T0 + 2) * 1e6) },
        null,
        'junk',
      ]),
      [
        { name: 'exception', at: T0, attributes: [['exception.type', 'ValueError']] },
        { name: 'retry', at: T0 + 1.5, attributes: [] },
        { name: '(unnamed event)', at: T0 + 2, attributes: [] },
      ],
    );
    assert.deepEqual(spanEvents(null), []);
  });
});

describe('messages', () => {
  test('the conventions’ shape: roles and text, tool-call and tool-response parts', () => {
    const input = [
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: 'rain, 12°C' }] },
    ];
    const output = [{ role: 'assistant', finish_reason: 'stop', parts: [{ type: 'text', content: 'Rainy, 12°C.' }] }];
    const c = conversation({ input_messages: input, output_messages: output });
    assert.deepEqual(
      c.map((m) => [m.role, m.output, m.parts.map((p) => p.type)]),
      [
        ['system', false, ['text']],
        ['user', false, ['text']],
        ['assistant', false, ['tool_call']],
        ['tool', false, ['tool_result']],
        ['assistant', true, ['text']],
      ],
    );
    assert.deepEqual(c[2]?.parts[0], { type: 'tool_call', name: 'get_weather', id: 'call_1', arguments: '{\n  "city": "Paris"\n}' });
    assert.deepEqual(c[3]?.parts[0], { type: 'tool_result', id: 'call_1', text: 'rain, 12°C' });
    assert.equal(c[4]?.finishReason, 'stop');
  });

  test('older shapes: content strings, OpenAI tool_calls and tool_call_id, content lists', () => {
    const m = normalizeMessages(
      [
        { role: 'developer', content: 'Rules.' },
        { role: 'Human', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'x' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{"q":"otel"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'found 3' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'tu1', name: 'calc', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu1', content: '2' }] },
      ],
      'input',
    );
    assert.deepEqual(
      m.map((x) => x.role),
      ['system', 'user', 'assistant', 'tool', 'assistant', 'user'],
    );
    assert.deepEqual(m[1]?.parts, [
      { type: 'text', text: 'hi' },
      { type: 'other', label: 'image_url', text: '{\n  "type": "image_url",\n  "image_url": {\n    "url": "x"\n  }\n}' },
    ]);
    assert.deepEqual(m[2]?.parts, [{ type: 'tool_call', name: 'search', id: 'c1', arguments: '{\n  "q": "otel"\n}' }]);
    assert.deepEqual(m[3]?.parts, [{ type: 'tool_result', id: 'c1', text: 'found 3' }]);
    assert.deepEqual(m[4]?.parts, [{ type: 'tool_call', name: 'calc', id: 'tu1', arguments: '{\n  "x": 1\n}' }]);
    assert.deepEqual(m[5]?.parts, [{ type: 'tool_result', id: 'tu1', text: '2' }]);
  });

  test('JSON strings, lone messages, plain text and junk all render as something', () => {
    assert.deepEqual(normalizeMessages('[{"role":"user","content":"hi"}]', 'input'), [{ role: 'user', parts: [{ type: 'text', text: 'hi' }], output: false, finishReason: null }]);
    assert.deepEqual(normalizeMessages('plain answer', 'output'), [{ role: 'assistant', parts: [{ type: 'text', text: 'plain answer' }], output: true, finishReason: null }]);
    assert.deepEqual(normalizeMessages({ role: 'user', content: 'one' }, 'input')[0]?.parts, [{ type: 'text', text: 'one' }]);
    assert.deepEqual(normalizeMessages({ messages: [{ role: 'user', content: 'wrapped' }] }, 'input')[0]?.parts, [{ type: 'text', text: 'wrapped' }]);
    assert.deepEqual(normalizeMessages([42, null, ['a']], 'input'), [
      { role: 'user', parts: [{ type: 'text', text: '42' }], output: false, finishReason: null },
      { role: 'user', parts: [{ type: 'text', text: '' }], output: false, finishReason: null },
      { role: 'user', parts: [{ type: 'text', text: 'a' }], output: false, finishReason: null },
    ]);
    assert.deepEqual(normalizeMessages([{ role: 'assistant', parts: [null, { type: 'reasoning', content: 'think' }, { weird: 1 }] }], 'output')[0]?.parts, [
      { type: 'other', label: 'reasoning', text: 'think' },
      { type: 'other', label: 'part', text: '{\n  "weird": 1\n}' },
    ]);
    assert.deepEqual(normalizeMessages([{ role: 'user', foo: 'bar' }], 'input')[0]?.parts, [{ type: 'other', label: 'message', text: '{\n  "foo": "bar"\n}' }]);
    assert.deepEqual(normalizeMessages(null, 'input'), []);
    assert.deepEqual(normalizeMessages('', 'input'), []);
    assert.deepEqual(conversation({ input_messages: null, output_messages: null }), []);
  });

  test('roles the conversation styles, and the rest as other', () => {
    assert.deepEqual(
      ['system', 'user', 'assistant', 'tool', 'critic'].map(roleClass),
      ['system', 'user', 'assistant', 'tool', 'other'],
    );
  });
});
