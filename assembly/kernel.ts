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
let invCapP: usize = 0; // f64[4n]: 1/cap where cap > 0, else 0 (pruning only)
let invDimsP: usize = 0; // f64[n]: 1/(dimensions with cap > 0), or 0

/**
 * Tolerance of the pruning pass: the reciprocal-multiplied score differs from the exact score
 * by at most ~13 ulp of (1 + Σ|terms|); 2^-40 leaves a margin of several hundred.
 */
const PRUNE_TOL: f64 = 9.094947017729282e-13;

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
let groups: i32 = -2; // -2: not built, -1: not usable, else the group count
let touchedCount: i32 = 0;

export function bindIndex(grp: usize, mem: usize, end: usize, head: usize, touched: usize): void {
  grpP = grp;
  memP = mem;
  gEndP = end;
  gHeadP = head;
  touchedP = touched;
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

/** Node i's free capacity changed: it leaves its group and is scored on its own from now on. */
function detach(i: i32): void {
  const p = grpP + ((<usize>i) << 2);
  if (load<i32>(p) >= 0) {
    store<i32>(p, -1);
    store<i32>(touchedP + ((<usize>touchedCount) << 2), i);
    touchedCount++;
  }
}

/** The caller changed node i's free capacity. */
export function touch(i: i32): void {
  if (groups >= 0) detach(i);
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
  invDims: usize,
): void {
  invCapP = invCap;
  invDimsP = invDims;
  n = count;
  nb = (<usize>count) << 3;
  capP = cap;
  freeP = free;
  eligP = elig;
  slotsP = slots;
  scoreP = score;
  heapP = heap;
}

/** Derives the reciprocal columns from `cap`; call after the host wrote `cap`. */
export function prepare(): void {
  for (let i: i32 = 0; i < n; i++) {
    const o = (<usize>i) << 3;
    let dims: i32 = 0;
    for (let d: i32 = 0; d < 4; d++) {
      const c = load<f64>(capP + <usize>d * nb + o);
      const pos = c > 0;
      store<f64>(invCapP + <usize>d * nb + o, pos ? 1 / c : 0);
      if (pos) dims++;
    }
    store<f64>(invDimsP + o, dims > 0 ? 1 / <f64>dims : 0);
  }
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
const GPU_RESERVE: f64 = 1;
const GPU_RESERVE_PARTIAL: f64 = 0.5;

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
  if (groups >= 0) detach(i);
}

/** The index pays off while groups plus detached nodes stay well below the node count. */
@inline function indexWorth(): bool {
  return groups >= 0 && (groups + touchedCount) * 3 <= n;
}

/**
 * The exhaustive scan over the state-group index: every detached node is scored exactly; every
 * group is scored once (its members share the exact score and resource fit) and contributes its
 * lowest-index member that fits. Same result as the plain scan: highest score, lowest index.
 */
function bestIndexed(): i32 {
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  for (let t: i32 = 0; t < touchedCount; t++) {
    const i = load<i32>(touchedP + ((<usize>t) << 2));
    if (!fits(i)) continue;
    const s = baseScore(i);
    if (chosen < 0 || s > best || (s == best && i < chosen)) {
      best = s;
      chosen = i;
    }
  }
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
 * The exhaustive scan without spread blocks or property limits, in two passes. Pass 1 scores every
 * fitting node with reciprocals (no division) and an error bound e: the exact score lies in
 * [a - e, a + e]; L = max(a - e) is a lower bound of the best exact score. Pass 2 computes the
 * exact score only for nodes with a + e >= L: every other node is strictly worse than the best,
 * so the choice (and its tie-break) equals the plain scan's.
 */
function bestPruned(): i32 {
  let lower: f64 = -Infinity;
  let anyFit = false;
  const binpack = strategy == STRATEGY_BINPACK;
  const n4 = n & ~3;
  for (let i: i32 = 0; i < n; i++) {
    const o = (<usize>i) << 3;
    // Four ineligible nodes in a row (common for selective constraints): skip them whole.
    if ((i & 3) == 0 && i < n4 && load<u32>(eligP + <usize>i) == 0) {
      store<f64>(scoreP + o, -Infinity);
      store<f64>(scoreP + o, -Infinity, 8);
      store<f64>(scoreP + o, -Infinity, 16);
      store<f64>(scoreP + o, -Infinity, 24);
      i += 3;
      continue;
    }
    let hi: f64 = -Infinity;
    if (fits(i)) {
      anyFit = true;
      const cp = capP + o;
      const fp = freeP + o;
      const ip = invCapP + o;
      const t0 = (load<f64>(cp) - load<f64>(fp) + a0) * load<f64>(ip);
      const t1 = (load<f64>(cp + nb) - load<f64>(fp + nb) + a1) * load<f64>(ip + nb);
      const t2 = (load<f64>(cp + 2 * nb) - load<f64>(fp + 2 * nb) + a2) * load<f64>(ip + 2 * nb);
      const t3 = (load<f64>(cp + 3 * nb) - load<f64>(fp + 3 * nb) + a3) * load<f64>(ip + 3 * nb);
      let a = (((t0 + t1) + t2) + t3) * load<f64>(invDimsP + o);
      if (!binpack) a = 1 - a;
      const r = reserve(i);
      if (r != 0) a = a - r;
      const e = PRUNE_TOL * (1 + (((abs(t0) + abs(t1)) + abs(t2)) + abs(t3)));
      const lo = a - e;
      hi = a + e;
      if (hi != hi) hi = Infinity;
      if (lo > lower) lower = lo;
    }
    store<f64>(scoreP + o, hi);
  }
  if (!anyFit) return -1;
  if (lower == -Infinity) return bestPlain();
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  for (let i: i32 = 0; i < n; i++) {
    if (load<f64>(scoreP + ((<usize>i) << 3)) >= lower) {
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

/** `bestPruned` two nodes at a time (f64x2); pass 2 touches lanes only when a candidate is present. */
function bestPrunedSimd(): i32 {
  const zero = f64x2.splat(0);
  const one = f64x2.splat(1);
  const reserveV = f64x2.splat(GPU_RESERVE);
  const partialV = f64x2.splat(GPU_RESERVE_PARTIAL);
  const tol = f64x2.splat(PRUNE_TOL);
  const ninf = f64x2.splat(-Infinity);
  const pinf = f64x2.splat(Infinity);
  const va0 = f64x2.splat(a0);
  const va1 = f64x2.splat(a1);
  const va2 = f64x2.splat(a2);
  const va3 = f64x2.splat(a3);
  const z0 = i64x2.splat(a0 == 0 ? -1 : 0);
  const z1 = i64x2.splat(a1 == 0 ? -1 : 0);
  const z2 = i64x2.splat(a2 == 0 ? -1 : 0);
  const z3 = i64x2.splat(a3 == 0 ? -1 : 0);
  const spreadMask = i64x2.splat(strategy == STRATEGY_BINPACK ? 0 : -1);
  let lowerV = ninf;
  let anyV = i64x2.splat(0);
  const n2 = n & ~1;
  const nb2 = nb << 1;
  const nb3 = nb2 + nb;
  for (let i: i32 = 0; i < n2; i += 2) {
    // Sixteen ineligible nodes in a row (common for selective constraints): skip them whole.
    // Pass 2 skips the same blocks, so their score slots are never read.
    if ((i & 15) == 0 && i + 16 <= n2 && !v128.any_true(v128.load(eligP + <usize>i))) {
      i += 14;
      continue;
    }
    const o = (<usize>i) << 3;
    const fp = freeP + o;
    const cp = capP + o;
    const ip = invCapP + o;
    const f0 = v128.load(fp);
    const f1 = v128.load(fp + nb);
    const f2 = v128.load(fp + nb2);
    const f3 = v128.load(fp + nb3);
    const e8 = <i32>load<u16>(eligP + <usize>i);
    const sp = slotsP + ((<usize>i) << 2);
    const ok0 = <i64>(<i32>((e8 & 0xff) == 1) & <i32>(load<i32>(sp) != 0));
    const ok1 = <i64>(<i32>((e8 >> 8) == 1) & <i32>(load<i32>(sp, 4) != 0));
    let m = i64x2.replace_lane(i64x2.splat(-ok0), 1, -ok1);
    m = v128.and(m, v128.or(f64x2.ge(f0, va0), z0));
    m = v128.and(m, v128.or(f64x2.ge(f1, va1), z1));
    m = v128.and(m, v128.or(f64x2.ge(f2, va2), z2));
    m = v128.and(m, v128.or(f64x2.ge(f3, va3), z3));
    const t0 = f64x2.mul(f64x2.add(f64x2.sub(v128.load(cp), f0), va0), v128.load(ip));
    const t1 = f64x2.mul(f64x2.add(f64x2.sub(v128.load(cp + nb), f1), va1), v128.load(ip + nb));
    const t2 = f64x2.mul(f64x2.add(f64x2.sub(v128.load(cp + nb2), f2), va2), v128.load(ip + nb2));
    const t3 = f64x2.mul(f64x2.add(f64x2.sub(v128.load(cp + nb3), f3), va3), v128.load(ip + nb3));
    let a = f64x2.mul(f64x2.add(f64x2.add(f64x2.add(t0, t1), t2), t3), v128.load(invDimsP + o));
    a = v128.bitselect(f64x2.sub(one, a), a, spreadMask);
    // GPU reserve lanes (no GPU asked, GPU capacity): all GPUs free, or some. Lanes without a
    // reserve keep `a` itself (not a - 0), like the scalar code.
    const c3 = v128.load(cp + nb3);
    const gpuLane = v128.and(z3, f64x2.gt(c3, zero));
    const allFree = f64x2.ge(f3, c3);
    const someFree = v128.and(gpuLane, v128.or(allFree, f64x2.gt(f3, zero)));
    const r = v128.bitselect(reserveV, partialV, allFree);
    a = v128.bitselect(f64x2.sub(a, r), a, someFree);
    const absSum = f64x2.add(f64x2.add(f64x2.add(f64x2.abs(t0), f64x2.abs(t1)), f64x2.abs(t2)), f64x2.abs(t3));
    const e = f64x2.mul(tol, f64x2.add(one, absSum));
    const lo = f64x2.sub(a, e);
    let hi = f64x2.add(a, e);
    hi = v128.bitselect(pinf, hi, f64x2.ne(hi, hi));
    hi = v128.bitselect(hi, ninf, m);
    v128.store(scoreP + o, hi);
    lowerV = v128.bitselect(lo, lowerV, v128.and(m, f64x2.gt(lo, lowerV)));
    anyV = v128.or(anyV, m);
  }
  let anyFit = v128.any_true(anyV);
  let lower = max(f64x2.extract_lane(lowerV, 0), f64x2.extract_lane(lowerV, 1));
  if (n2 < n) {
    // The odd last node, scalar.
    const i = n2;
    let hi: f64 = -Infinity;
    if (fits(i)) {
      anyFit = true;
      const o = (<usize>i) << 3;
      const cp = capP + o;
      const fp = freeP + o;
      const ip = invCapP + o;
      const t0 = (load<f64>(cp) - load<f64>(fp) + a0) * load<f64>(ip);
      const t1 = (load<f64>(cp + nb) - load<f64>(fp + nb) + a1) * load<f64>(ip + nb);
      const t2 = (load<f64>(cp + 2 * nb) - load<f64>(fp + 2 * nb) + a2) * load<f64>(ip + 2 * nb);
      const t3 = (load<f64>(cp + 3 * nb) - load<f64>(fp + 3 * nb) + a3) * load<f64>(ip + 3 * nb);
      let a = (((t0 + t1) + t2) + t3) * load<f64>(invDimsP + o);
      if (strategy != STRATEGY_BINPACK) a = 1 - a;
      const r = reserve(i);
      if (r != 0) a = a - r;
      const e = PRUNE_TOL * (1 + (((abs(t0) + abs(t1)) + abs(t2)) + abs(t3)));
      const lo = a - e;
      hi = a + e;
      if (hi != hi) hi = Infinity;
      if (lo > lower) lower = lo;
    }
    store<f64>(scoreP + ((<usize>i) << 3), hi);
  }
  if (!anyFit) return -1;
  if (lower == -Infinity) return bestPlain();
  const lowerS = f64x2.splat(lower);
  let best: f64 = -Infinity;
  let chosen: i32 = -1;
  for (let i: i32 = 0; i < n2; i += 2) {
    if ((i & 15) == 0 && i + 16 <= n2 && !v128.any_true(v128.load(eligP + <usize>i))) {
      i += 14;
      continue;
    }
    const hit = f64x2.ge(v128.load(scoreP + ((<usize>i) << 3)), lowerS);
    if (!v128.any_true(hit)) continue;
    if (i64x2.extract_lane(hit, 0) != 0 && !(chosen >= 0 && sameAs(i, chosen))) {
      const s = baseScore(i);
      if (chosen < 0 || s > best) {
        best = s;
        chosen = i;
      }
    }
    if (i64x2.extract_lane(hit, 1) != 0 && !(chosen >= 0 && sameAs(i + 1, chosen))) {
      const s = baseScore(i + 1);
      if (chosen < 0 || s > best) {
        best = s;
        chosen = i + 1;
      }
    }
  }
  if (n2 < n && load<f64>(scoreP + ((<usize>n2) << 3)) >= lower && !(chosen >= 0 && sameAs(n2, chosen))) {
    const s = baseScore(n2);
    if (chosen < 0 || s > best) chosen = n2;
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
      refreshSpreadTerms();
      chosen = bestWithSpread();
    } else if (indexWorth()) {
      chosen = bestIndexed();
    } else {
      chosen = propValP != 0 ? bestPlain() : ASC_FEATURE_SIMD ? bestPrunedSimd() : bestPruned();
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
    if (blocks > 0) refreshSpreadTerms();
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
