/**
 * The placement kernel over linear-memory columns (docs/placement-kernel.md). It mirrors the JS
 * reference in src/core/placement/kernel.ts operation for operation, so both produce bit-identical
 * scores and identical choices. The state of one `place` call lives in module globals; nothing is
 * allocated while placing.
 */

const STRATEGY_BINPACK: i32 = 0;

// Loaded columns.
let n: i32 = 0;
let nb: usize = 0; // n * 8, the byte stride between dimensions of cap/free
let capP: usize = 0;
let freeP: usize = 0;
let eligP: usize = 0;
let slotsP: usize = 0;
let scoreP: usize = 0; // f64[n] scratch
let heapP: usize = 0; // i32[n] scratch

// The current call.
let a0: f64 = 0;
let a1: f64 = 0;
let a2: f64 = 0;
let a3: f64 = 0;
let strategy: i32 = 0;
let blocks: i32 = 0;
let maxValues: i32 = 0;
let spreadValP: usize = 0;
let spreadCountP: usize = 0;
let spreadDesiredP: usize = 0;
let weightP: usize = 0; // f64[S] scratch: weight / 100
let minP: usize = 0; // f64[S] scratch: even-spread minimum per block
let presentP: usize = 0; // u8[S*V] scratch: value occurs on an eligible node
let propValP: usize = 0; // 0 = no property limit
let propRemP: usize = 0;

export function bind(
  count: i32,
  cap: usize,
  free: usize,
  elig: usize,
  slots: usize,
  score: usize,
  heap: usize,
): void {
  n = count;
  nb = (<usize>count) << 3;
  capP = cap;
  freeP = free;
  eligP = elig;
  slotsP = slots;
  scoreP = score;
  heapP = heap;
}

@inline function fits(i: i32): bool {
  if (load<u8>(eligP + <usize>i) != 1) return false;
  if (load<i32>(slotsP + ((<usize>i) << 2)) == 0) return false;
  const p = freeP + ((<usize>i) << 3);
  if (a0 != 0 && !(load<f64>(p) >= a0)) return false;
  if (a1 != 0 && !(load<f64>(p + nb) >= a1)) return false;
  if (a2 != 0 && !(load<f64>(p + 2 * nb) >= a2)) return false;
  if (a3 != 0 && !(load<f64>(p + 3 * nb) >= a3)) return false;
  if (propValP != 0) {
    const v = load<i32>(propValP + ((<usize>i) << 2));
    if (v >= 0 && !(load<i32>(propRemP + ((<usize>v) << 2)) > 0)) return false;
  }
  return true;
}

@inline function baseScoreFor(i: i32, b0: f64, b1: f64, b2: f64, b3: f64, strat: i32): f64 {
  const o = (<usize>i) << 3;
  const cp = capP + o;
  const fp = freeP + o;
  let sum: f64 = 0;
  let dims: i32 = 0;
  let c = load<f64>(cp);
  if (c > 0) {
    sum += (c - load<f64>(fp) + b0) / c;
    dims++;
  }
  c = load<f64>(cp + nb);
  if (c > 0) {
    sum += (c - load<f64>(fp + nb) + b1) / c;
    dims++;
  }
  c = load<f64>(cp + 2 * nb);
  if (c > 0) {
    sum += (c - load<f64>(fp + 2 * nb) + b2) / c;
    dims++;
  }
  c = load<f64>(cp + 3 * nb);
  if (c > 0) {
    sum += (c - load<f64>(fp + 3 * nb) + b3) / c;
    dims++;
  }
  const u: f64 = dims > 0 ? sum / <f64>dims : 0;
  return strat == STRATEGY_BINPACK ? u : 1 - u;
}

@inline function baseScore(i: i32): f64 {
  return baseScoreFor(i, a0, a1, a2, a3, strategy);
}

/** Score of node i for an ask (no spread boost). */
export function score(i: i32, askP: usize, strat: i32): f64 {
  return baseScoreFor(i, load<f64>(askP), load<f64>(askP, 8), load<f64>(askP, 16), load<f64>(askP, 24), strat);
}

function refreshSpreadMin(): void {
  for (let b: i32 = 0; b < blocks; b++) {
    const vbase = b * maxValues;
    let min: f64 = Infinity;
    for (let v: i32 = 0; v < maxValues; v++) {
      if (load<u8>(presentP + <usize>(vbase + v)) == 1) {
        const c = load<f64>(spreadCountP + ((<usize>(vbase + v)) << 3));
        if (c < min) min = c;
      }
    }
    store<f64>(minP + ((<usize>b) << 3), min == Infinity ? 0 : min);
  }
}

function boost(i: i32): f64 {
  let total: f64 = 0;
  for (let b: i32 = 0; b < blocks; b++) {
    const w = load<f64>(weightP + ((<usize>b) << 3));
    const v = load<i32>(spreadValP + ((<usize>(b * n + i)) << 2));
    if (v < 0) {
      total += -1 * w;
      continue;
    }
    const k = (<usize>(b * maxValues + v)) << 3;
    const want = load<f64>(spreadDesiredP + k);
    const have = load<f64>(spreadCountP + k);
    if (want > 0) total += ((want - (have + 1)) / want) * w;
    else if (want < 0) total += -2 * (have - load<f64>(minP + ((<usize>b) << 3))) * w;
    else total += -1 * w;
  }
  return total;
}

@inline function finalScore(i: i32): f64 {
  const base = baseScore(i);
  return blocks > 0 ? base + boost(i) : base;
}

function commit(i: i32): void {
  const p = freeP + ((<usize>i) << 3);
  store<f64>(p, load<f64>(p) - a0);
  store<f64>(p + nb, load<f64>(p + nb) - a1);
  store<f64>(p + 2 * nb, load<f64>(p + 2 * nb) - a2);
  store<f64>(p + 3 * nb, load<f64>(p + 3 * nb) - a3);
  const sp = slotsP + ((<usize>i) << 2);
  const s = load<i32>(sp);
  if (s > 0) store<i32>(sp, s - 1);
  for (let b: i32 = 0; b < blocks; b++) {
    const v = load<i32>(spreadValP + ((<usize>(b * n + i)) << 2));
    if (v >= 0) {
      const cp = spreadCountP + ((<usize>(b * maxValues + v)) << 3);
      store<f64>(cp, load<f64>(cp) + 1);
    }
  }
  if (propValP != 0) {
    const v = load<i32>(propValP + ((<usize>i) << 2));
    if (v >= 0) {
      const rp = propRemP + ((<usize>v) << 2);
      store<i32>(rp, load<i32>(rp) - 1);
    }
  }
}

/** The exhaustive scan without spread blocks: the hot loop of single-agent calls. */
function bestPlain(): i32 {
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  for (let i: i32 = 0; i < n; i++) {
    if (!fits(i)) continue;
    const s = baseScore(i);
    if (chosen < 0 || s > best) {
      best = s;
      chosen = i;
    }
  }
  return chosen;
}

function bestWithSpread(): i32 {
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  for (let i: i32 = 0; i < n; i++) {
    if (!fits(i)) continue;
    const s = finalScore(i);
    if (chosen < 0 || s > best) {
      best = s;
      chosen = i;
    }
  }
  return chosen;
}

function placeScan(outP: usize, count: i32): i32 {
  const fill = blocks == 0 && strategy == STRATEGY_BINPACK;
  let j: i32 = 0;
  while (j < count) {
    let chosen: i32;
    if (blocks > 0) {
      refreshSpreadMin();
      chosen = bestWithSpread();
    } else {
      chosen = bestPlain();
    }
    if (chosen < 0) break;
    do {
      commit(chosen);
      store<i32>(outP + ((<usize>j) << 2), chosen);
      j++;
    } while (fill && j < count && fits(chosen));
  }
  return j;
}

@inline function heapAt(k: i32): i32 {
  return load<i32>(heapP + ((<usize>k) << 2));
}

@inline function scoreAt(i: i32): f64 {
  return load<f64>(scoreP + ((<usize>i) << 3));
}

function siftDown(k: i32, size: i32): void {
  const item = heapAt(k);
  const s = scoreAt(item);
  for (;;) {
    let c = 2 * k + 1;
    if (c >= size) break;
    let ci = heapAt(c);
    let cs = scoreAt(ci);
    const r = c + 1;
    if (r < size) {
      const ri = heapAt(r);
      const rs = scoreAt(ri);
      if (rs > cs || (rs == cs && ri < ci)) {
        c = r;
        ci = ri;
        cs = rs;
      }
    }
    if (cs > s || (cs == s && ci < item)) {
      store<i32>(heapP + ((<usize>k) << 2), ci);
      k = c;
    } else {
      break;
    }
  }
  store<i32>(heapP + ((<usize>k) << 2), item);
}

/** Exhaustive greedy without spread blocks through a (score desc, index asc) heap. */
function placeHeap(outP: usize, count: i32): i32 {
  let size: i32 = 0;
  for (let i: i32 = 0; i < n; i++) {
    if (!fits(i)) continue;
    store<f64>(scoreP + ((<usize>i) << 3), baseScore(i));
    store<i32>(heapP + ((<usize>size) << 2), i);
    size++;
  }
  for (let k = (size >> 1) - 1; k >= 0; k--) siftDown(k, size);
  const binpack = strategy == STRATEGY_BINPACK;
  let j: i32 = 0;
  while (j < count && size > 0) {
    const top = heapAt(0);
    if (!fits(top)) {
      size--;
      store<i32>(heapP, heapAt(size));
      siftDown(0, size);
      continue;
    }
    if (binpack) {
      do {
        commit(top);
        store<i32>(outP + ((<usize>j) << 2), top);
        j++;
      } while (j < count && fits(top));
      size--;
      store<i32>(heapP, heapAt(size));
      siftDown(0, size);
    } else {
      commit(top);
      store<i32>(outP + ((<usize>j) << 2), top);
      j++;
      if (fits(top)) {
        store<f64>(scoreP + ((<usize>top) << 3), baseScore(top));
      } else {
        size--;
        store<i32>(heapP, heapAt(size));
      }
      siftDown(0, size);
    }
  }
  return j;
}

function placeSampled(outP: usize, count: i32, k: i32, seed: u32): i32 {
  let cursor = <i32>(seed % <u32>n);
  let j: i32 = 0;
  while (j < count) {
    if (blocks > 0) refreshSpreadMin();
    let best: f64 = -Infinity;
    let chosen: i32 = -1;
    let found: i32 = 0;
    let i = cursor;
    for (let visited: i32 = 0; visited < n; visited++) {
      if (fits(i)) {
        const s = finalScore(i);
        if (chosen < 0 || s > best) {
          best = s;
          chosen = i;
        }
        found++;
      }
      i = i + 1 == n ? 0 : i + 1;
      if (found == k) break;
    }
    cursor = i;
    if (chosen < 0) break;
    commit(chosen);
    store<i32>(outP + ((<usize>j) << 2), chosen);
    j++;
  }
  return j;
}

/**
 * Places up to `count` agents; see docs/placement-kernel.md. `ask` is f64[4]; the spread
 * pointers are ignored when `nBlocks` is 0, the property pointers when `propVal` is 0. `scratch`
 * holds f64[S] weights, f64[S] minima and u8[S*V] presence flags. Returns the number placed;
 * `out` gets the node per agent, -1 for the rest.
 */
export function place(
  askP: usize,
  strat: i32,
  count: i32,
  outP: usize,
  sampleK: i32,
  seed: u32,
  nBlocks: i32,
  nValues: i32,
  spreadVal: usize,
  spreadCount: usize,
  spreadDesired: usize,
  spreadWeight: usize,
  scratch: usize,
  propVal: usize,
  propRem: usize,
): i32 {
  if (count <= 0) return 0;
  memory.fill(outP, 0xff, (<usize>count) << 2);
  if (n == 0) return 0;
  a0 = load<f64>(askP);
  a1 = load<f64>(askP, 8);
  a2 = load<f64>(askP, 16);
  a3 = load<f64>(askP, 24);
  strategy = strat;
  blocks = nBlocks > 0 ? nBlocks : 0;
  maxValues = nValues;
  spreadValP = spreadVal;
  spreadCountP = spreadCount;
  spreadDesiredP = spreadDesired;
  propValP = propVal;
  propRemP = propRem;
  if (blocks > 0) {
    weightP = scratch;
    minP = scratch + ((<usize>blocks) << 3);
    presentP = minP + ((<usize>blocks) << 3);
    const sv = <usize>(blocks * maxValues);
    memory.fill(presentP, 0, sv);
    for (let b: i32 = 0; b < blocks; b++) {
      store<f64>(weightP + ((<usize>b) << 3), load<f64>(spreadWeight + ((<usize>b) << 3)) / 100);
      const vbase = b * maxValues;
      for (let i: i32 = 0; i < n; i++) {
        const v = load<i32>(spreadValP + ((<usize>(b * n + i)) << 2));
        if (v >= 0 && load<u8>(eligP + <usize>i) == 1) store<u8>(presentP + <usize>(vbase + v), 1);
      }
    }
  }
  if (sampleK > 0) return placeSampled(outP, count, sampleK, seed);
  if (blocks > 0 || count <= 2) return placeScan(outP, count);
  return placeHeap(outP, count);
}
