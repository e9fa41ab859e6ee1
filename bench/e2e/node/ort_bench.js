#!/usr/bin/env node
// ONNX Runtime side of bench/e2e/compare: time one ONNX model with onnxruntime-node (CPU execution
// provider) the way `kiln bench` times an artifact, and print the same JSON.
//
//   node ort_bench.js MODEL.onnx --input NAME=FILE.npy ... [--threads N] [--seconds T] [--warmup N]
//                     [--json OUT.json] [--output-dir DIR]
//
// Session options: graphOptimizationLevel 'all', intraOpNumThreads N, interOpNumThreads 1, executionMode
// 'sequential' (everything else at ONNX Runtime's defaults, e.g. intra-op thread spinning on).
// Protocol (the same as `kiln bench`): N untimed warm-up runs (default 3; the first one's outputs are
// written to DIR/<output name>.npy for the agreement check), then back-to-back runs until T seconds have
// passed and at least 3 ran; each run's wall time (session.run() to its promise resolving) is one latency
// sample; throughput = batch * iterations / timed seconds; percentiles are nearest-rank.
// Errors: one line `ort_bench: error: ...` on stderr, exit status 1.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`ort_bench: error: ${msg}\n`);
  process.exit(1);
}

// ---- .npy (format 1.0-3.0, little-endian, C order) ---------------------------------------------

const NPY_DTYPES = {
  '<f4': { type: 'float32', Array: Float32Array, size: 4 },
  '<f8': { type: 'float64', Array: Float64Array, size: 8 },
  '<i8': { type: 'int64', Array: BigInt64Array, size: 8 },
  '<i4': { type: 'int32', Array: Int32Array, size: 4 },
  '|b1': { type: 'bool', Array: Uint8Array, size: 1 },
};

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`cannot read '${file}': ${e.code || e.message}`);
  }
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
  if (buf.length < 10 || !buf.subarray(0, 6).equals(magic)) fail(`'${file}' is not a .npy file (bad magic)`);
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    fail(`'${file}': unsupported .npy format version ${major}`);
  }
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', offset, offset + headerLen);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) fail(`'${file}': cannot parse the .npy header ${JSON.stringify(header)}`);
  if (fortran[1] === 'True') fail(`'${file}': Fortran-ordered arrays are not supported`);
  let d = descr[1];
  if (d === '=i8' || d === '=f4' || d === '=i4' || d === '=f8') d = '<' + d.slice(1); // little-endian host
  const dt = NPY_DTYPES[d];
  if (!dt) fail(`'${file}': unsupported dtype '${descr[1]}' (expected one of ${Object.keys(NPY_DTYPES).join(', ')})`);
  const shape = shapeM[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  if (buf.length - dataStart < count * dt.size) fail(`'${file}': truncated data (${count} elements of ${d} expected)`);
  // Copy into an aligned buffer (the data offset need not be a multiple of the element size).
  const bytes = new Uint8Array(count * dt.size);
  bytes.set(buf.subarray(dataStart, dataStart + count * dt.size));
  return { type: dt.type, data: new dt.Array(bytes.buffer), shape };
}

function writeNpy(file, tensor) {
  const descrs = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', bool: '|b1' };
  const descr = descrs[tensor.type];
  if (!descr) fail(`cannot write output of type ${tensor.type} as .npy`);
  const dims = tensor.dims.map(Number);
  const shapeStr = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const unpadded = 10 + header.length + 1; // magic + version + uint16 length + header + '\n'
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

// ---- command line ---------------------------------------------------------------------------------

function parseArgs(argv) {
  const a = { model: null, inputs: [], threads: 2, seconds: 10, warmup: 3, json: null, outputDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    const num = (s, name, min) => {
      const v = Number(s);
      if (!Number.isFinite(v) || v < min) fail(`${name} must be a number >= ${min}, got '${s}'`);
      return v;
    };
    if (arg === '--input') {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) fail(`--input wants NAME=FILE.npy, got '${v}'`);
      a.inputs.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (arg === '--threads') a.threads = Math.trunc(num(value(), '--threads', 1));
    else if (arg === '--seconds') a.seconds = num(value(), '--seconds', 0);
    else if (arg === '--warmup') a.warmup = Math.max(1, Math.trunc(num(value(), '--warmup', 0)));
    else if (arg === '--json') a.json = value();
    else if (arg === '--output-dir') a.outputDir = value();
    else if (arg === '--version') {
      process.stdout.write(ortVersion() + '\n');
      process.exit(0);
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(
        'usage: node ort_bench.js MODEL.onnx --input NAME=FILE.npy ... [--threads N] [--seconds T]\n' +
          '                         [--warmup N] [--json OUT.json] [--output-dir DIR] | --version\n',
      );
      process.exit(0);
    } else if (arg.startsWith('-')) fail(`unknown option '${arg}'`);
    else if (a.model === null) a.model = arg;
    else fail(`unexpected argument '${arg}'`);
  }
  if (a.model === null) fail('no model given');
  return a;
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    fail(
      `cannot load onnxruntime-node (${String(e.message).split('\n')[0]}); install it with ` +
        `'cd ${__dirname} && ONNXRUNTIME_NODE_INSTALL=skip npm ci'`,
    );
  }
}

function ortVersion() {
  const ort = loadOrt();
  return (ort.env.versions && ort.env.versions.node) || require('onnxruntime-node/package.json').version;
}

// Nearest rank, as `kiln bench`: the ceil(p/100 * n)-th smallest sample.
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(idx - 1, 0))];
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  if (!fs.existsSync(args.model)) fail(`model '${args.model}' not found`);

  const options = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  const t0 = nowMs();
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, options);
  } catch (e) {
    fail(`cannot load '${args.model}': ${String(e.message).split('\n')[0]}`);
  }
  const loadMs = nowMs() - t0;

  // Inputs: every model input exactly once; integer arrays are converted to the model's integer type.
  const given = new Map(args.inputs);
  const feeds = {};
  let batch = null;
  let seq = null;
  for (const meta of session.inputMetadata) {
    const file = given.get(meta.name);
    if (file === undefined) fail(`model input '${meta.name}' not given (--input ${meta.name}=FILE.npy)`);
    given.delete(meta.name);
    let arr = readNpy(file);
    const want = meta.isTensor ? meta.type : arr.type;
    if (arr.type !== want) {
      if (want === 'int64' && arr.type === 'int32') arr = { type: 'int64', data: BigInt64Array.from(arr.data, (v) => BigInt(v)), shape: arr.shape };
      else if (want === 'int32' && arr.type === 'int64') arr = { type: 'int32', data: Int32Array.from(arr.data, (v) => Number(v)), shape: arr.shape };
      else fail(`input '${meta.name}' is ${arr.type} in '${file}', the model wants ${want}`);
    }
    if (batch === null && arr.shape.length >= 1) batch = arr.shape[0];
    if (seq === null && arr.shape.length >= 2) seq = arr.shape[1];
    feeds[meta.name] = new ort.Tensor(arr.type, arr.data, arr.shape);
  }
  if (given.size > 0) fail(`the model has no input named '${[...given.keys()][0]}' (inputs: ${session.inputNames.join(', ')})`);

  const runOnce = async () => {
    try {
      return await session.run(feeds);
    } catch (e) {
      fail(`inference failed: ${String(e.message).split('\n')[0]}`);
    }
  };

  // 1. the first warm-up run: outputs for the agreement check
  const outputs = await runOnce();
  if (args.outputDir) {
    fs.mkdirSync(args.outputDir, { recursive: true });
    for (const name of session.outputNames) writeNpy(path.join(args.outputDir, name + '.npy'), outputs[name]);
  }

  // 2. the rest of the warm-up
  for (let i = 1; i < args.warmup; i++) await runOnce();

  // 3. timed runs
  const lat = [];
  const start = nowMs();
  let end = start;
  while (lat.length < 3 || end - start < args.seconds * 1000) {
    const a = nowMs();
    await runOnce();
    end = nowMs();
    lat.push(end - a);
  }
  const elapsedS = (end - start) / 1000;
  const sorted = lat.slice().sort((x, y) => x - y);
  const result = {
    system: 'onnxruntime',
    version: ortVersion(),
    model: path.resolve(args.model),
    batch,
    seq,
    threads: args.threads,
    iterations: lat.length,
    seconds: elapsedS,
    throughput: (batch * lat.length) / elapsedS,
    latency_ms: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
      mean: lat.reduce((s, v) => s + v, 0) / lat.length,
    },
    warmup: args.warmup,
    load_ms: loadMs,
    session_options: options,
  };
  const text = JSON.stringify(result, null, 2) + '\n';
  if (args.json) fs.writeFileSync(args.json, text);
  process.stdout.write(text);
}

main().catch((e) => fail(String((e && e.message) || e).split('\n')[0]));
