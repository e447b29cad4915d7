#!/usr/bin/env node
// Differential-test corpus generator for JSONata.
// Reads cases-src.json, evaluates every case with the reference JS engine
// (jsonata@2.0.6) and writes one JSON object per line (JSON Lines).
//
// cases-src.json layout:
//   { "datasets": { "<name>": <json>, ... },
//     "cases": [ { "expr": "...", "input": <json> | "data": "<name>", "bindings": {...}? }, ... ] }
// A case uses either an inline "input" or a named dataset via "data".
//
// Output line shapes:
//   {"expr", "input", "bindings"?, "result": <value>}
//   {"expr", "input", "bindings"?, "undefined": true}
//   {"expr", "input", "bindings"?, "error": {"code": ..., "message": ...}}
// Functions/lambdas inside results are recorded as {"function": true}.
// Usage: node generate.js [cases-src.json] [out.jsonl]
'use strict';
const fs = require('fs');
const path = require('path');
const jsonata = require('jsonata');

const srcPath = process.argv[2] || path.join(__dirname, 'cases-src.json');
const outPath = process.argv[3] || path.join(__dirname, 'reference.jsonl');

const src = JSON.parse(fs.readFileSync(srcPath, 'utf8'));
const datasets = src.datasets || {};
const cases = Array.isArray(src) ? src : src.cases;

const BANNED = /\$(now|millis|random|uuid|shuffle)\b/;

function isFunctionLike(v) {
  return typeof v === 'function' ||
    (v !== null && typeof v === 'object' &&
      (v._jsonata_lambda === true || v._jsonata_function === true));
}

function replacer(key, value) {
  if (isFunctionLike(value)) return { function: true };
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // JSON cannot represent these; make them visible instead of silently becoming null.
    return { nonFinite: String(value) };
  }
  return value;
}

// Normalise a result into plain JSON (functions -> {"function": true}).
function toPlain(v) {
  return JSON.parse(JSON.stringify(v, replacer));
}

async function run() {
  const lines = [];
  const stats = { result: 0, undefined: 0, error: 0 };
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    if (typeof c.expr !== 'string') throw new Error(`case ${i}: missing expr`);
    if (BANNED.test(c.expr)) throw new Error(`case ${i}: nondeterministic function in ${c.expr}`);
    let input;
    if (Object.prototype.hasOwnProperty.call(c, 'data')) {
      if (!Object.prototype.hasOwnProperty.call(datasets, c.data)) throw new Error(`case ${i}: unknown dataset ${c.data}`);
      input = datasets[c.data];
    } else if (Object.prototype.hasOwnProperty.call(c, 'input')) {
      input = c.input;
    } else {
      throw new Error(`case ${i}: no input/data`);
    }
    // Deep-copy so that no case can observe mutations made by another.
    const evalInput = JSON.parse(JSON.stringify(input));
    const bindings = c.bindings ? JSON.parse(JSON.stringify(c.bindings)) : undefined;

    const line = { expr: c.expr, input };
    if (c.bindings && Object.keys(c.bindings).length > 0) line.bindings = c.bindings;
    try {
      const compiled = jsonata(c.expr);
      const res = await compiled.evaluate(evalInput, bindings);
      if (res === undefined) {
        line.undefined = true;
        stats.undefined++;
      } else {
        line.result = toPlain(res);
        stats.result++;
      }
    } catch (e) {
      line.error = {
        code: e && e.code !== undefined ? e.code : null,
        message: e && e.message !== undefined ? String(e.message) : String(e),
      };
      stats.error++;
    }
    lines.push(JSON.stringify(line));
  }
  fs.writeFileSync(outPath, lines.join('\n') + '\n');
  console.error(`wrote ${lines.length} cases to ${outPath}: ` +
    `${stats.result} results, ${stats.undefined} undefined, ${stats.error} errors`);
}

run().catch((e) => { console.error(e); process.exit(1); });
