/**
 * The placement kernel over linear-memory columns (docs/placement-kernel.md). Its exact scores are
 * the JS reference's (src/core/placement/kernel.ts) operation for operation, so both produce
 * bit-identical scores and identical choices; the pruning passes that decide which nodes get an
 * exact score are this engine's own (f32 bounds, four nodes per instruction in the SIMD build).
 * The state of one `place` call lives in module globals; nothing is allocated while placing.
 */

// Constants shared with the JS side (src/core/placement/kernel-types.ts and kernel.ts), exported
// as immutable globals so a test can hold the two to the same values.
export const DIMENSIONS: i32 = 4;
export const STRATEGY_BINPACK: i32 = 0;
export const STRATEGY_SPREAD: i32 = 1;

// Loaded columns.
let n: i32 = 0;
let nb: usize = 0; // n * 8, the byte stride between dimensions of cap/free
let capP: usize = 0;
let freeP: usize = 0;
let eligP: usize = 0;
let slotsP: usize = 0;
let scoreP: usize = 0; // f64[n] scratch
let heapP: usize = 0; // i32[n] scratch
let invCapP: usize = 0; // f64[4n]: 1/cap where cap > 0, else 0
// The f32 terms of the pass-1 bound (docs/placement-kernel.md, "Pruned scan"), per node, kept
// current with free capacity by `refreshTerms`.
let uColP: usize = 0; // f32[n]: Σu, u = (cap - free) / cap per dimension (0 where cap <= 0)
let wColP: usize = 0; // f32[4n]: 1 / cap (0 where cap <= 0)
let invDimsP: usize = 0; // f32[n]: 1 / (dimensions with cap > 0), or 0
let slackColP: usize = 0; // f32[n]: Σ|u| - Σu (Infinity when some u is out of f32 range or not finite)
let reserveColP: usize = 0; // f32[n]: the GPU reserve of the node's state (for asks without GPU)


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
let termP: usize = 0; // f64[S*(V+1)] scratch: boost per block and value (slot 0 = absent)
let presentP: usize = 0; // u8[S*V] scratch: value occurs on an eligible node
let propValP: usize = 0; // 0 = no property limit
let propRemP: usize = 0;

// State-group index (docs/placement-kernel.md; built by the host with src/core/placement/state-groups.ts).
let grpP: usize = 0; // i32[n]: group of node i while untouched, else -1
let memP: usize = 0; // i32[n]: members of every group, ascending node index
let gEndP: usize = 0; // i32[G]: end of group g's member range
let gHeadP: usize = 0; // i32[G]: first member of group g that may still be in it
let touchedP: usize = 0; // i32[n]: nodes that left their group
// The detached nodes' columns, compacted in detach order (slot t holds node touched[t],
// dimension-major with stride n): free capacity and the pass-1 terms as f32, refreshed whenever
// the node's free capacity changes (see `detach`; docs/placement-kernel.md, "Detached nodes").
let dFreeP: usize = 0; // f32[4n]: free capacity rounded to f32
let dUP: usize = 0; // f32[n]: Σu
let dWP: usize = 0; // f32[4n]: 1 / cap (0 where cap <= 0)
let dInvDimsP: usize = 0; // f32[n]: 1 / dimensions with cap > 0 (0 when none)
let dSlackP: usize = 0; // f32[n]: Σ|u| - Σu (Infinity when some u is out of f32 range)
let dReserveP: usize = 0; // f32[n]: the GPU reserve of the node's current state (asks without GPU)
let groups: i32 = -2; // -2: not built, -1: not usable, else the group count
let touchedCount: i32 = 0;

export function bindIndex(
  grp: usize,
  mem: usize,
  end: usize,
  head: usize,
  touched: usize,
  dFree: usize,
  dU: usize,
  dW: usize,
  dInvDims: usize,
  dSlack: usize,
  dReserve: usize,
): void {
  grpP = grp;
  memP = mem;
  gEndP = end;
  gHeadP = head;
  touchedP = touched;
  dFreeP = dFree;
  dUP = dU;
  dWP = dW;
  dInvDimsP = dInvDims;
  dSlackP = dSlack;
  dReserveP = dReserve;
  groups = -2;
  touchedCount = 0;
}

/** Sets the group count after the host built the index (head = start already written), or -2 to drop it. */
export function setIndex(count: i32): void {
  groups = count;
  touchedCount = 0;
}

@inline function grpAt(i: i32): i32 {
  return load<i32>(grpP + ((<usize>i) << 2));
}

@inline function memAt(k: i32): i32 {
  return load<i32>(memP + ((<usize>k) << 2));
}

/** Largest |u| kept as a bounded f32 term; beyond it the node is always a pass-2 candidate. */
const U_LIMIT: f64 = 1e30;

/** Recomputes node i's pass-1 terms from its capacity and free capacity. */
function refreshTerms(i: i32): void {
  const o = (<usize>i) << 3;
  const o4 = (<usize>i) << 2;
  const nb4 = nb >> 1;
  let uAbs: f64 = 0;
  let uSum: f64 = 0;
  let slack: f64 = 0;
  for (let d: i32 = 0; d < 4; d++) {
    const k = <usize>d * nb;
    const u = (load<f64>(capP + k + o) - load<f64>(freeP + k + o)) * load<f64>(invCapP + k + o);
    uSum += u;
    uAbs += abs(u);
    if (u < 0) slack -= 2 * u;
  }
  store<f32>(uColP + o4, <f32>uSum);
  store<f32>(slackColP + o4, uAbs <= U_LIMIT ? <f32>slack : Infinity);
  const c = load<f64>(capP + 3 * nb + o);
  const gpus = load<f64>(freeP + 3 * nb + o);
  store<f32>(reserveColP + o4, c > 0 ? (gpus >= c ? <f32>GPU_RESERVE : gpus > 0 ? <f32>GPU_RESERVE_PARTIAL : 0) : 0);
}

/**
 * Node i's free capacity changed (its terms are current): it leaves its group and is scored on
 * its own from now on (grp[i] becomes -1 - t for its compact slot t); a detached node's compact
 * copy is refreshed.
 *
 * A slot is *sure* when every free value is exact in f32 (so the f32 fit test is exact) and its
 * terms are in range (|u| <= U_LIMIT via a finite slack, w <= W_LIMIT), so that with asks up to
 * ASK_LIMIT no pass-1 value overflows f32. Any other slot is written so that pass 1 always makes
 * it a candidate and never takes the lower bound from it: free +Infinity (it "fits"), terms 0 and
 * slack +Infinity (bound [-Infinity, +Infinity]); pass 2 then tests fit and scores it exactly.
 */
function detach(i: i32): void {
  const p = grpP + ((<usize>i) << 2);
  const g = load<i32>(p);
  const o = (<usize>i) << 3;
  const o4 = (<usize>i) << 2;
  const nb4 = nb >> 1;
  let t: i32;
  if (g >= 0) {
    t = touchedCount++;
    store<i32>(p, -1 - t);
    store<i32>(touchedP + ((<usize>t) << 2), i);
  } else {
    t = -1 - g;
  }
  const q4 = (<usize>t) << 2;
  const slack = load<f32>(slackColP + o4);
  let sure = slack < Infinity;
  for (let d: i32 = 0; d < 4 && sure; d++) {
    const f = load<f64>(freeP + <usize>d * nb + o);
    sure = <f64>(<f32>f) == f && load<f32>(wColP + <usize>d * nb4 + o4) <= W_LIMIT;
  }
  for (let d: i32 = 0; d < 4; d++) {
    const k4 = <usize>d * nb4;
    store<f32>(dFreeP + k4 + q4, sure ? <f32>load<f64>(freeP + <usize>d * nb + o) : Infinity);
    store<f32>(dWP + k4 + q4, sure ? load<f32>(wColP + k4 + o4) : 0);
  }
  store<f32>(dUP + q4, sure ? load<f32>(uColP + o4) : 0);
  store<f32>(dInvDimsP + q4, sure ? load<f32>(invDimsP + o4) : 0);
  store<f32>(dSlackP + q4, sure ? slack : Infinity);
  store<f32>(dReserveP + q4, sure ? load<f32>(reserveColP + o4) : 0);
}

/** The caller changed node i's free capacity. */
export function touch(i: i32): void {
  settle(i);
}

export function bind(
  count: i32,
  cap: usize,
  free: usize,
  elig: usize,
  slots: usize,
  score: usize,
  heap: usize,
  invCap: usize,
  uCol: usize,
  wCol: usize,
  invDims: usize,
  slackCol: usize,
  reserveCol: usize,
): void {
  invCapP = invCap;
  uColP = uCol;
  wColP = wCol;
  invDimsP = invDims;
  slackColP = slackCol;
  reserveColP = reserveCol;
  n = count;
  nb = (<usize>count) << 3;
  capP = cap;
  freeP = free;
  eligP = elig;
  slotsP = slots;
  scoreP = score;
  heapP = heap;
}

/** Derives the reciprocal columns and pass-1 terms; call after the host wrote `cap` and `free`. */
export function prepare(): void {
  const nb4 = nb >> 1;
  for (let i: i32 = 0; i < n; i++) {
    const o = (<usize>i) << 3;
    const o4 = (<usize>i) << 2;
    let dims: i32 = 0;
    for (let d: i32 = 0; d < 4; d++) {
      const c = load<f64>(capP + <usize>d * nb + o);
      const pos = c > 0;
      const inv: f64 = pos ? 1 / c : 0;
      store<f64>(invCapP + <usize>d * nb + o, inv);
      store<f32>(wColP + <usize>d * nb4 + o4, <f32>inv);
      if (pos) dims++;
    }
    store<f32>(invDimsP + o4, dims > 0 ? <f32>(1 / <f64>dims) : 0);
    refreshTerms(i);
  }
  // The sentinel node n of the detached pass never passes eligibility (the host writes n bytes).
  memory.fill(eligP + <usize>n, 0, 4);
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

/**
 * GPU reserve (docs/placement-kernel.md; GPU_RESERVE in the JS reference): when the agent asks no
 * GPU, a node with GPU capacity ranks GPU_RESERVE lower when all its GPUs are free and
 * GPU_RESERVE_PARTIAL lower when some are. Ranking only; `score` leaves it out.
 */
export const GPU_RESERVE: f64 = 1;
export const GPU_RESERVE_PARTIAL: f64 = 0.5;

@inline function reserve(i: i32): f64 {
  if (a3 != 0) return 0;
  const o = (<usize>i) << 3;
  const c = load<f64>(capP + 3 * nb + o);
  if (!(c > 0)) return 0;
  const g = load<f64>(freeP + 3 * nb + o);
  return g >= c ? GPU_RESERVE : g > 0 ? GPU_RESERVE_PARTIAL : 0;
}

@inline function baseScore(i: i32): f64 {
  const s = baseScoreFor(i, a0, a1, a2, a3, strategy);
  const r = reserve(i);
  return r != 0 ? s - r : s;
}

/** Score of node i for an ask (no spread boost). */
export function score(i: i32, askP: usize, strat: i32): f64 {
  return baseScoreFor(i, load<f64>(askP), load<f64>(askP, 8), load<f64>(askP, 16), load<f64>(askP, 24), strat);
}

/**
 * Recomputes, per block, the even-spread minimum and then the boost term of every value (slot 0:
 * node lacks the attribute). A node's boost is then the sum of its values' terms in block order:
 * the same expressions as evaluating them per node, so the doubles are identical.
 */
function refreshSpreadTerms(): void {
  const stride = maxValues + 1;
  for (let b: i32 = 0; b < blocks; b++) {
    const vbase = b * maxValues;
    let min: f64 = Infinity;
    for (let v: i32 = 0; v < maxValues; v++) {
      if (load<u8>(presentP + <usize>(vbase + v)) == 1) {
        const c = load<f64>(spreadCountP + ((<usize>(vbase + v)) << 3));
        if (c < min) min = c;
      }
    }
    if (min == Infinity) min = 0;
    const w = load<f64>(weightP + ((<usize>b) << 3));
    const tp = termP + ((<usize>(b * stride)) << 3);
    store<f64>(tp, -1 * w);
    for (let v: i32 = 0; v < maxValues; v++) {
      const k = (<usize>(vbase + v)) << 3;
      const want = load<f64>(spreadDesiredP + k);
      const have = load<f64>(spreadCountP + k);
      let term: f64;
      if (want > 0) term = ((want - (have + 1)) / want) * w;
      else if (want < 0) term = -2 * (have - min) * w;
      else term = -1 * w;
      store<f64>(tp + ((<usize>(v + 1)) << 3), term);
    }
  }
}

@inline function boost(i: i32): f64 {
  const stride = maxValues + 1;
  let total: f64 = 0;
  for (let b: i32 = 0; b < blocks; b++) {
    const v = load<i32>(spreadValP + ((<usize>(b * n + i)) << 2));
    total += load<f64>(termP + ((<usize>(b * stride + v + 1)) << 3));
  }
  return total;
}

@inline function finalScore(i: i32): f64 {
  const base = baseScore(i);
  return blocks > 0 ? base + boost(i) : base;
}

/**
 * Places one agent on node i. The node's derived state (pass-1 terms, index slot) is brought up
 * to date by `settle`, once per run of placements on the node.
 */
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

/** Node i's free capacity changed: its pass-1 terms and its index slot follow. */
function settle(i: i32): void {
  refreshTerms(i);
  if (groups >= 0) detach(i);
}

/** The index pays off while groups plus detached nodes stay well below the node count. */
@inline function indexWorth(): bool {
  return groups >= 0 && (groups + touchedCount) * 3 <= n;
}

/**
 * The exhaustive scan over the state-group index: the detached nodes first (`bestDetached`), then
 * every group scored once (its members share the exact score and resource fit), contributing its
 * lowest-index member that fits. Same result as the plain scan: highest score, lowest index.
 */
function bestIndexed(): i32 {
  let chosen: i32 =
    propValP != 0 ? bestDetached() : bestDetachedPruned();
  let best: f64 = chosen >= 0 ? baseScore(chosen) : -Infinity;
  for (let g: i32 = 0; g < groups; g++) {
    const hp = gHeadP + ((<usize>g) << 2);
    let h = load<i32>(hp);
    const e = load<i32>(gEndP + ((<usize>g) << 2));
    while (h < e && grpAt(memAt(h)) != g) h++;
    store<i32>(hp, h);
    if (h == e) continue;
    const r = memAt(h);
    const p = freeP + ((<usize>r) << 3);
    if (a0 != 0 && !(load<f64>(p) >= a0)) continue;
    if (a1 != 0 && !(load<f64>(p + nb) >= a1)) continue;
    if (a2 != 0 && !(load<f64>(p + 2 * nb) >= a2)) continue;
    if (a3 != 0 && !(load<f64>(p + 3 * nb) >= a3)) continue;
    const s = baseScore(r);
    if (chosen >= 0 && s < best) continue;
    const tie = chosen >= 0 && s == best;
    for (let k = h; k < e; k++) {
      const m = memAt(k);
      if (tie && m > chosen) break;
      if (grpAt(m) == g && fits(m)) {
        best = s;
        chosen = m;
        break;
      }
    }
  }
  return chosen;
}

@inline function touchedAt(t: i32): i32 {
  return load<i32>(touchedP + ((<usize>t) << 2));
}

/** The best fitting detached node by exact score, ties to the lowest index; -1 when none. */
function bestDetached(): i32 {
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  for (let t: i32 = 0; t < touchedCount; t++) {
    const i = touchedAt(t);
    if (!fits(i)) continue;
    const s = baseScore(i);
    if (chosen < 0 || s > best || (s == best && i < chosen)) {
      best = s;
      chosen = i;
    }
  }
  return chosen;
}

// Pass 2 of the pruned detached scan: the best so far.
let dChosen: i32 = -1;
let dBest: f64 = -Infinity;

/**
 * Pass 2 of the pruned detached scan: the exact fit test and score of slot t against the best so
 * far (pass 1 leaves slots that are not sure, and possibly the slots test, to it).
 */
@inline function exactDetached(t: i32): void {
  const i = touchedAt(t);
  if (!fits(i)) return;
  const s = baseScore(i);
  if (dChosen < 0 || s > dBest || (s == dBest && i < dChosen)) {
    dBest = s;
    dChosen = i;
  }
}

/**
 * Tolerance of the f32 pass-1 bounds: the f32 score differs from the exact one by at most ~12 f32
 * ulp of (1 + Σ|u| + Σask·w); 2^-16 leaves a margin of about 20.
 */
const PRUNE_TOL_F32: f32 = 1.52587890625e-5;

/** Asks above this (or negative, or not finite) skip the f32 bound. */
const ASK_LIMIT: f64 = 1e29;

/** The ask is in the range of the f32 bounds (else the exact paths run). */
@inline function askBounded(): bool {
  return a0 >= 0 && a0 <= ASK_LIMIT && a1 >= 0 && a1 <= ASK_LIMIT && a2 >= 0 && a2 <= ASK_LIMIT && a3 >= 0 && a3 <= ASK_LIMIT;
}

/** Reciprocal capacities above this (capacity below 1e-8) leave a detached node to pass 2. */
const W_LIMIT: f32 = 1e8;

/**
 * `bestDetached` without a property limit, in two passes over the compact columns. Pass 1 tests
 * fit and bounds each fitting node's score in f32: the exact score lies in [a - e, a + e]. Pass 2
 * tests fit and scores exactly only the nodes whose bound reaches the best lower bound: every
 * other node is strictly worse, so the choice equals `bestDetached`'s.
 */
function bestDetachedPruned(): i32 {
  if (!askBounded()) {
    return bestDetached();
  }
  return ASC_FEATURE_SIMD ? boundDetachedSimd() : boundDetached();
}

/** Pass 2 over the pass-1 bounds in `scoreP` (f32 per slot); `lower` is the best lower bound. */
function exactCandidates(lower: f32): i32 {
  dChosen = -1;
  dBest = -Infinity;
  const count = touchedCount;
  if (ASC_FEATURE_SIMD) {
    // Four bounds per compare; lanes past the end hold -Infinity (see `boundDetachedSimd`).
    const l = f32x4.splat(lower);
    for (let t: i32 = 0; t < count; t += 4) {
      const hit = f32x4.ge(v128.load(scoreP + ((<usize>t) << 2)), l);
      if (!v128.any_true(hit)) continue;
      if (i32x4.extract_lane(hit, 0) != 0) exactDetached(t);
      if (i32x4.extract_lane(hit, 1) != 0) exactDetached(t + 1);
      if (i32x4.extract_lane(hit, 2) != 0) exactDetached(t + 2);
      if (i32x4.extract_lane(hit, 3) != 0) exactDetached(t + 3);
    }
  } else {
    for (let t: i32 = 0; t < count; t++) {
      if (load<f32>(scoreP + ((<usize>t) << 2)) >= lower) exactDetached(t);
    }
  }
  return dChosen;
}

function boundDetached(): i32 {
  scanLower = -Infinity;
  let anyFit = false;
  const binpack = strategy == STRATEGY_BINPACK;
  const b0 = <f32>a0;
  const b1 = <f32>a1;
  const b2 = <f32>a2;
  const b3 = <f32>a3;
  for (let t: i32 = 0; t < touchedCount; t++) {
    const q4 = (<usize>t) << 2;
    let hi: f32 = -Infinity;
    if (fits(touchedAt(t))) {
      anyFit = true;
      hi = boundTerms(q4, dUP, dWP, dInvDimsP, dSlackP, dReserveP, b0, b1, b2, b3, binpack);
    }
    store<f32>(scoreP + q4, hi);
  }
  if (!anyFit) return -1;
  if (scanLower == -Infinity) return bestDetached();
  return exactCandidates(scanLower);
}

/** The smallest f32 not below a non-negative ask. */
function askCeil32(a: f64): f32 {
  let c = <f32>a;
  if (<f64>c < a) c = reinterpret<f32>(reinterpret<u32>(c) + 1);
  return c;
}

/**
 * `boundDetached` four slots at a time, in f32x4 lanes; one loop per strategy and GPU ask, so
 * that the loop keeps its constants in registers. Slots past the end hold the sentinel node n,
 * whose eligibility byte is always 0 (see `prepare`), so their lanes are masked off; the columns
 * have room for them (the index runs only while fewer than n/3 nodes are detached, and every
 * region holds at least 16 nodes).
 */
function boundDetachedSimd(): i32 {
  // First without reading slots: the lower bound is then taken from a node whose slots are not
  // checked, so it stands only when that node has a slot left (pass 2 tests fit, slots included,
  // for every candidate). Otherwise the pass runs again with the slots test.
  const binpack = strategy == STRATEGY_BINPACK;
  let r: i32;
  if (a3 == 0) r = binpack ? boundDetachedLoop(true, true, false) : boundDetachedLoop(false, true, false);
  else r = binpack ? boundDetachedLoop(true, false, false) : boundDetachedLoop(false, false, false);
  if (r != SLOT_TAKEN) return r;
  if (a3 == 0) return binpack ? boundDetachedLoop(true, true, true) : boundDetachedLoop(false, true, true);
  return binpack ? boundDetachedLoop(true, false, true) : boundDetachedLoop(false, false, true);
}

/** `boundDetachedLoop` without the slots test found its lower bound on a node with no slot left. */
const SLOT_TAKEN: i32 = -2;

@inline function boundDetachedLoop(binpack: bool, noGpu: bool, checkSlots: bool): i32 {
  const one = f32x4.splat(1);
  const tol = f32x4.splat(PRUNE_TOL_F32);
  const ninf = f32x4.splat(-Infinity);
  const pinf = f32x4.splat(Infinity);
  // Fit against f32 free: an exact f32 value F is >= a exactly when F >= ceil32(a); an unasked
  // dimension always fits (F is never NaN in a sure slot). The bound uses ceil32(a) as the ask.
  const c0 = askCeil32(a0);
  const c1 = askCeil32(a1);
  const c2 = askCeil32(a2);
  const c3 = askCeil32(a3);
  const va0 = f32x4.splat(a0 == 0 ? -Infinity : c0);
  const va1 = f32x4.splat(a1 == 0 ? -Infinity : c1);
  const va2 = f32x4.splat(a2 == 0 ? -Infinity : c2);
  const va3 = f32x4.splat(a3 == 0 ? -Infinity : c3);
  const b0 = f32x4.splat(c0);
  const b1 = f32x4.splat(c1);
  const b2 = f32x4.splat(c2);
  const b3 = f32x4.splat(c3);
  let lowerV = ninf;
  let anyV = i32x4.splat(0);
  // Slot of each lane's lower bound (without the slots test).
  let lowerT = i32x4.splat(0);
  let slotV = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  const count = touchedCount;
  const tp = touchedP;
  for (let k: i32 = 0; k < 4; k++) store<i32>(tp + ((<usize>(count + k)) << 2), n);
  const s4 = nb >> 1;
  const ep = eligP;
  const slp = slotsP;
  const df = dFreeP;
  const du = dUP;
  const dw = dWP;
  const dd = dInvDimsP;
  const dk = dSlackP;
  const dr = dReserveP;
  const hp = scoreP;
  for (let t: i32 = 0; t < count; t += 4) {
    const q4 = (<usize>t) << 2;
    const ip = tp + q4;
    const i0 = <usize>load<i32>(ip);
    const i1 = <usize>load<i32>(ip, 4);
    const i2 = <usize>load<i32>(ip, 8);
    const i3 = <usize>load<i32>(ip, 12);
    const e0 = <i32>(load<u8>(ep + i0) == 1);
    const e1 = <i32>(load<u8>(ep + i1) == 1);
    const e2 = <i32>(load<u8>(ep + i2) == 1);
    const e3 = <i32>(load<u8>(ep + i3) == 1);
    // No node of the four passes eligibility (common for selective constraints): no arithmetic.
    if ((e0 | e1 | e2 | e3) == 0) {
      v128.store(hp + q4, ninf);
      if (!checkSlots) slotV = i32x4.add(slotV, four);
      continue;
    }
    let ok0 = e0;
    let ok1 = e1;
    let ok2 = e2;
    let ok3 = e3;
    if (checkSlots) {
      ok0 &= <i32>(load<i32>(slp + (i0 << 2)) != 0);
      ok1 &= <i32>(load<i32>(slp + (i1 << 2)) != 0);
      ok2 &= <i32>(load<i32>(slp + (i2 << 2)) != 0);
      ok3 &= <i32>(load<i32>(slp + (i3 << 2)) != 0);
    }
    let m = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(-ok0), 1, -ok1), 2, -ok2), 3, -ok3);
    // Fit (a slot that is not sure always "fits" here, with the bound [-Infinity, +Infinity]).
    // Without a GPU ask the GPU dimension always fits and adds 0 × w = 0: both are left out.
    const fp = df + q4;
    let fit = v128.and(v128.and(f32x4.ge(v128.load(fp), va0), f32x4.ge(v128.load(fp + s4), va1)), f32x4.ge(v128.load(fp + 2 * s4), va2));
    if (!noGpu) fit = v128.and(fit, f32x4.ge(v128.load(fp + 3 * s4), va3));
    m = v128.and(m, fit);
    const wp = dw + q4;
    let aw = f32x4.add(f32x4.add(f32x4.mul(b0, v128.load(wp)), f32x4.mul(b1, v128.load(wp + s4))), f32x4.mul(b2, v128.load(wp + 2 * s4)));
    if (!noGpu) aw = f32x4.add(aw, f32x4.mul(b3, v128.load(wp + 3 * s4)));
    const sum = f32x4.add(v128.load(du + q4), aw);
    let a = f32x4.mul(sum, v128.load(dd + q4));
    if (!binpack) a = f32x4.sub(one, a);
    if (noGpu) a = f32x4.sub(a, v128.load(dr + q4));
    // e ≈ tol × (1 + slack + sum): finite in a sure slot, +Infinity in any other (see `detach`);
    // a is finite either way, so hi and lo are never NaN.
    const e = f32x4.add(tol, f32x4.mul(tol, f32x4.add(v128.load(dk + q4), sum)));
    const lo = f32x4.sub(a, e);
    const hi = f32x4.add(a, e);
    v128.store(hp + q4, v128.bitselect(hi, ninf, m));
    const better = v128.and(m, f32x4.gt(lo, lowerV));
    lowerV = v128.bitselect(lo, lowerV, better);
    if (!checkSlots) {
      lowerT = v128.bitselect(slotV, lowerT, better);
      slotV = i32x4.add(slotV, four);
    }
    anyV = v128.or(anyV, m);
  }
  if (!v128.any_true(anyV)) return -1;
  const l0 = f32x4.extract_lane(lowerV, 0);
  const l1 = f32x4.extract_lane(lowerV, 1);
  const l2 = f32x4.extract_lane(lowerV, 2);
  const l3 = f32x4.extract_lane(lowerV, 3);
  const lower = max(max(l0, l1), max(l2, l3));
  // No bound below came from a sure slot (only slots left to pass 2 fit): the exact scan.
  if (lower == -Infinity) return bestDetached();
  if (!checkSlots) {
    const lane = l0 == lower ? 0 : l1 == lower ? 1 : l2 == lower ? 2 : 3;
    const t = lane == 0 ? i32x4.extract_lane(lowerT, 0) : lane == 1 ? i32x4.extract_lane(lowerT, 1) : lane == 2 ? i32x4.extract_lane(lowerT, 2) : i32x4.extract_lane(lowerT, 3);
    if (load<i32>(slp + ((<usize>touchedAt(t)) << 2)) == 0) return SLOT_TAKEN;
  }
  return exactCandidates(lower);
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

/**
 * Node i has the same capacity and free capacity as node j, hence the same exact score: when j
 * is already chosen and i > j, i cannot win (ties go to the lower index), so pass 2 skips it.
 * This keeps pass 2 short on fleets of identical, untouched nodes.
 */
@inline function sameAs(i: i32, j: i32): bool {
  const oi = (<usize>i) << 3;
  const oj = (<usize>j) << 3;
  return (
    load<f64>(freeP + oi) == load<f64>(freeP + oj) &&
    load<f64>(freeP + nb + oi) == load<f64>(freeP + nb + oj) &&
    load<f64>(freeP + 2 * nb + oi) == load<f64>(freeP + 2 * nb + oj) &&
    load<f64>(freeP + 3 * nb + oi) == load<f64>(freeP + 3 * nb + oj) &&
    load<f64>(capP + oi) == load<f64>(capP + oj) &&
    load<f64>(capP + nb + oi) == load<f64>(capP + nb + oj) &&
    load<f64>(capP + 2 * nb + oi) == load<f64>(capP + 2 * nb + oj) &&
    load<f64>(capP + 3 * nb + oi) == load<f64>(capP + 3 * nb + oj)
  );
}

/**
 * The exhaustive scan without spread blocks or property limits, in two passes. Pass 1 tests fit
 * exactly and bounds every fitting node's score from its f32 terms: the exact score lies in
 * [a - e, a + e]; L = max(a - e) is a lower bound of the best exact score. Pass 2 computes the
 * exact score only for nodes with a + e >= L: every other node is strictly worse than the best,
 * so the choice (and its tie-break) equals the plain scan's.
 */
function bestPruned(): i32 {
  if (!askBounded()) {
    return bestPlain();
  }
  return ASC_FEATURE_SIMD ? boundScanSimd() : boundScan();
}

/** The best lower bound found by the current scalar pass 1 (scan or detached list). */
let scanLower: f32 = -Infinity;

/**
 * A run of ineligible nodes starting at i that both passes of the scan skip without reading or
 * writing their bounds: sixteen nodes (one v128) in the SIMD build, four (one u32) otherwise.
 */
@inline function ineligibleRun(i: i32, n4: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    if ((i & 15) == 0 && i + 16 <= n4 && !v128.any_true(v128.load(eligP + <usize>i))) return 16;
  } else {
    if ((i & 3) == 0 && i + 4 <= n4 && load<u32>(eligP + <usize>i) == 0) return 4;
  }
  return 0;
}

/**
 * The scalar pass-1 bound at offset o4 (4 × node or slot) of a set of term columns (Σu, w per
 * dimension with stride n, 1/dims, slack, reserve): returns the upper bound and raises
 * `scanLower` to the lower one.
 */
@inline function boundTerms(o4: usize, u: usize, w: usize, dims: usize, slack: usize, reserve: usize, b0: f32, b1: f32, b2: f32, b3: f32, binpack: bool): f32 {
  const nb4 = nb >> 1;
  const wp = w + o4;
  const sum = load<f32>(u + o4) + (((b0 * load<f32>(wp) + b1 * load<f32>(wp + nb4)) + b2 * load<f32>(wp + 2 * nb4)) + b3 * load<f32>(wp + 3 * nb4));
  let a = sum * load<f32>(dims + o4);
  if (!binpack) a = 1 - a;
  if (a3 == 0) a = a - load<f32>(reserve + o4);
  const e = PRUNE_TOL_F32 * (1 + (load<f32>(slack + o4) + sum));
  const lo = a - e;
  let hi = a + e;
  if (hi != hi) hi = Infinity;
  if (lo > scanLower) scanLower = lo;
  return hi;
}

/** Pass-1 bound of node i (it fits) from the per-node terms; updates `scanLower`. */
@inline function boundNode(i: i32, b0: f32, b1: f32, b2: f32, b3: f32, binpack: bool): f32 {
  return boundTerms((<usize>i) << 2, uColP, wColP, invDimsP, slackColP, reserveColP, b0, b1, b2, b3, binpack);
}

/** Pass 2 of the scan: exact scores of the nodes whose bound in `scoreP` (f32) reaches `lower`. */
function exactScan(lower: f32): i32 {
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  const n4 = n & ~3;
  for (let i: i32 = 0; i < n; i++) {
    const run = ineligibleRun(i, n4);
    if (run > 0) {
      i += run - 1;
      continue;
    }
    if (load<f32>(scoreP + ((<usize>i) << 2)) >= lower) {
      if (chosen >= 0 && sameAs(i, chosen)) continue;
      const s = baseScore(i);
      if (chosen < 0 || s > best) {
        best = s;
        chosen = i;
      }
    }
  }
  return chosen;
}

function boundScan(): i32 {
  scanLower = -Infinity;
  let anyFit = false;
  const binpack = strategy == STRATEGY_BINPACK;
  const b0 = <f32>a0;
  const b1 = <f32>a1;
  const b2 = <f32>a2;
  const b3 = <f32>a3;
  const n4 = n & ~3;
  for (let i: i32 = 0; i < n; i++) {
    const run = ineligibleRun(i, n4);
    if (run > 0) {
      i += run - 1;
      continue;
    }
    let hi: f32 = -Infinity;
    if (fits(i)) {
      anyFit = true;
      hi = boundNode(i, b0, b1, b2, b3, binpack);
    }
    store<f32>(scoreP + ((<usize>i) << 2), hi);
  }
  if (!anyFit) return -1;
  if (scanLower == -Infinity) return bestPlain();
  return exactScan(scanLower);
}

/**
 * `boundScan` four nodes at a time: eligibility and slots as i32x4 lanes, the exact fit test as
 * two f64x2 pairs, the bound in f32x4; the last n % 4 nodes run scalar.
 */
function boundScanSimd(): i32 {
  const one = f32x4.splat(1);
  const tol = f32x4.splat(PRUNE_TOL_F32);
  const ninf = f32x4.splat(-Infinity);
  const pinf = f32x4.splat(Infinity);
  const oneI = i32x4.splat(1);
  const zeroI = i32x4.splat(0);
  const va0 = f64x2.splat(a0);
  const va1 = f64x2.splat(a1);
  const va2 = f64x2.splat(a2);
  const va3 = f64x2.splat(a3);
  const z0 = i64x2.splat(a0 == 0 ? -1 : 0);
  const z1 = i64x2.splat(a1 == 0 ? -1 : 0);
  const z2 = i64x2.splat(a2 == 0 ? -1 : 0);
  const z3 = i64x2.splat(a3 == 0 ? -1 : 0);
  const b0 = f32x4.splat(<f32>a0);
  const b1 = f32x4.splat(<f32>a1);
  const b2 = f32x4.splat(<f32>a2);
  const b3 = f32x4.splat(<f32>a3);
  const noGpu = i32x4.splat(a3 == 0 ? -1 : 0);
  const spreadMask = i32x4.splat(strategy == STRATEGY_BINPACK ? 0 : -1);
  let lowerV = ninf;
  let anyV = i32x4.splat(0);
  const s8 = nb;
  const s4 = nb >> 1;
  const ep = eligP;
  const slp = slotsP;
  const fr = freeP;
  const uc = uColP;
  const wc = wColP;
  const dd = invDimsP;
  const sk = slackColP;
  const rs = reserveColP;
  const hp = scoreP;
  const n4 = n & ~3;
  for (let i: i32 = 0; i < n4; i += 4) {
    // Sixteen ineligible nodes in a row (common for selective constraints): skip them whole.
    // Pass 2 skips the same blocks, so their bound slots are never read.
    if (ineligibleRun(i, n4) > 0) {
      i += 12;
      continue;
    }
    const o4 = (<usize>i) << 2;
    const eb = load<u32>(ep + <usize>i);
    if (eb == 0) {
      v128.store(hp + o4, ninf);
      continue;
    }
    const e32 = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(i32x4.splat(eb)));
    let m = v128.and(i32x4.eq(e32, oneI), i32x4.ne(v128.load(slp + o4), zeroI));
    // Exact fit: free >= ask in every asked dimension, two f64 lanes at a time.
    const fp = fr + ((<usize>i) << 3);
    const fa = v128.and(
      v128.and(v128.or(f64x2.ge(v128.load(fp), va0), z0), v128.or(f64x2.ge(v128.load(fp + s8), va1), z1)),
      v128.and(v128.or(f64x2.ge(v128.load(fp + 2 * s8), va2), z2), v128.or(f64x2.ge(v128.load(fp + 3 * s8), va3), z3)),
    );
    const fb = v128.and(
      v128.and(v128.or(f64x2.ge(v128.load(fp, 16), va0), z0), v128.or(f64x2.ge(v128.load(fp + s8, 16), va1), z1)),
      v128.and(v128.or(f64x2.ge(v128.load(fp + 2 * s8, 16), va2), z2), v128.or(f64x2.ge(v128.load(fp + 3 * s8, 16), va3), z3)),
    );
    m = v128.and(m, v128.shuffle<i32>(fa, fb, 0, 2, 4, 6));
    // The bound, four lanes of f32.
    const wp = wc + o4;
    const aw = f32x4.add(
      f32x4.add(f32x4.mul(b0, v128.load(wp)), f32x4.mul(b1, v128.load(wp + s4))),
      f32x4.add(f32x4.mul(b2, v128.load(wp + 2 * s4)), f32x4.mul(b3, v128.load(wp + 3 * s4))),
    );
    const sum = f32x4.add(v128.load(uc + o4), aw);
    let a = f32x4.mul(sum, v128.load(dd + o4));
    a = v128.bitselect(f32x4.sub(one, a), a, spreadMask);
    a = f32x4.sub(a, v128.and(v128.load(rs + o4), noGpu));
    const e = f32x4.mul(tol, f32x4.add(one, f32x4.add(v128.load(sk + o4), sum)));
    const lo = f32x4.sub(a, e);
    let hi = f32x4.add(a, e);
    hi = v128.bitselect(pinf, hi, f32x4.ne(hi, hi));
    v128.store(hp + o4, v128.bitselect(hi, ninf, m));
    lowerV = v128.bitselect(lo, lowerV, v128.and(m, f32x4.gt(lo, lowerV)));
    anyV = v128.or(anyV, m);
  }
  scanLower = max(
    max(f32x4.extract_lane(lowerV, 0), f32x4.extract_lane(lowerV, 1)),
    max(f32x4.extract_lane(lowerV, 2), f32x4.extract_lane(lowerV, 3)),
  );
  let anyFit = v128.any_true(anyV);
  const binpack = strategy == STRATEGY_BINPACK;
  for (let i = n4; i < n; i++) {
    let hi: f32 = -Infinity;
    if (fits(i)) {
      anyFit = true;
      hi = boundNode(i, <f32>a0, <f32>a1, <f32>a2, <f32>a3, binpack);
    }
    store<f32>(hp + ((<usize>i) << 2), hi);
  }
  if (!anyFit) return -1;
  if (scanLower == -Infinity) return bestPlain();
  return exactScan(scanLower);
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
      refreshSpreadTerms();
      chosen = bestWithSpread();
    } else if (indexWorth()) {
      chosen = bestIndexed();
    } else {
      chosen = propValP != 0 ? bestPlain() : bestPruned();
    }
    if (chosen < 0) break;
    do {
      commit(chosen);
      store<i32>(outP + ((<usize>j) << 2), chosen);
      j++;
    } while (fill && j < count && fits(chosen));
    settle(chosen);
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
      settle(top);
      size--;
      store<i32>(heapP, heapAt(size));
      siftDown(0, size);
    } else {
      commit(top);
      settle(top);
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
    if (blocks > 0) refreshSpreadTerms();
    let best: f64 = -Infinity;
    let chosen: i32 = -1;
    let found: i32 = 0;
    let i = cursor;
    for (let visited: i32 = 0; visited < n; ) {
      if (load<u8>(eligP + <usize>i) != 1) {
        // A run of ineligible nodes (selective constraints) is passed over whole: sixteen (one
        // v128, SIMD build) or four (one u32). Visit order and the lap limit are unchanged.
        let run: i32 = 0;
        if (ASC_FEATURE_SIMD && i + 16 <= n && visited + 16 <= n && !v128.any_true(v128.load(eligP + <usize>i))) run = 16;
        else if (i + 4 <= n && visited + 4 <= n && load<u32>(eligP + <usize>i) == 0) run = 4;
        if (run > 0) {
          i += run;
          visited += run;
          if (i == n) i = 0;
          continue;
        }
      } else if (fits(i)) {
        const s = finalScore(i);
        if (chosen < 0 || s > best) {
          best = s;
          chosen = i;
        }
        found++;
      }
      visited++;
      i = i + 1 == n ? 0 : i + 1;
      if (found == k) break;
    }
    cursor = i;
    if (chosen < 0) break;
    commit(chosen);
    settle(chosen);
    store<i32>(outP + ((<usize>j) << 2), chosen);
    j++;
  }
  return j;
}

/**
 * Places up to `count` agents; see docs/placement-kernel.md. `ask` is f64[4]; the spread
 * pointers are ignored when `nBlocks` is 0, the property pointers when `propVal` is 0. `scratch`
 * holds f64[S] weights, f64[S*(V+1)] boost terms and u8[S*V] presence flags. Returns the number placed;
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
    termP = scratch + ((<usize>blocks) << 3);
    presentP = termP + ((<usize>(blocks * (maxValues + 1))) << 3);
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
