// Reference side of bench/brackets.py: brackets-manager.js 1.11.1 on brackets-memory-db 1.0.6.
//
// node bench/reference_brackets.mjs --format double_elimination --entrants 1024 \
//      [--repeat 5] [--min-ms 300] [--max-runs 50] [--warmup 256] [--warmup-ms 300]
//      [--results higher-seed|random] [--rng-seed 1] [--modules DIR]
//
// Creates the stage (seeding S1..SN in seed order, `inner_outer` ordering, grand final `double`
// for double elimination), then reports results until the stage completes: each wave selects the
// matches whose status is Ready and reports the winner of each. Timing covers creation and play
// only (performance.now()), so node start-up and module loading are excluded. Prints one JSON line.
// Warm-up runs (same format, min(N, --warmup) entrants, not timed) go first, at least one and
// more while they add up to under --warmup-ms, so the JIT is as warm at N = 64 as at N = 4096;
// then at least --repeat timed runs, more while they add up to under --min-ms (at most
// --max-runs).

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = parseArgs(process.argv.slice(2));
const modules = args.modules ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '.node');
// createRequire resolves packages from <modules>/node_modules, the npm --prefix folder.
const require = createRequire(path.join(path.resolve(modules), 'package.json'));
const { BracketsManager } = require('brackets-manager');
const { InMemoryDatabase } = require('brackets-memory-db');
const { Status } = require('brackets-model');

const format = args.format;
const entrants = Number(args.entrants);
const repeat = Number(args.repeat ?? 5);
const minMs = Number(args['min-ms'] ?? 300);
const maxRuns = Number(args['max-runs'] ?? 50);
const warmup = Number(args.warmup ?? 256);
const warmupMs = Number(args['warmup-ms'] ?? 300);
const results = args.results ?? 'higher-seed';
const rngSeed = Number(args['rng-seed'] ?? 1) >>> 0;

if (!['single_elimination', 'double_elimination'].includes(format)) fail(`bad --format ${format}`);
if (!(entrants >= 2)) fail('--entrants must be at least 2');
if (!['higher-seed', 'random'].includes(results)) fail(`bad --results ${results}`);

// 32-bit integer mix (the "lowbias32" hash); bench/brackets.py has the same function.
function mix(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

// Winner of seed a against seed b at their meeting number `meeting` (0 = first): the smaller
// seed, or a coin decided by (rng seed, pair, meeting) so that a rematch is a fresh coin.
function winnerSeed(a, b, meeting) {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (results === 'higher-seed') return lo;
  const h = mix((mix((rngSeed ^ Math.imul(lo, 0x9e3779b1)) >>> 0) ^ hi) + meeting);
  return h & 1 ? lo : hi;
}

function nextPowerOfTwo(n) {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

async function run(n) {
  const size = nextPowerOfTwo(n);
  // Seeds N+1..size are BYEs (null); inner_outer then gives the byes to the top seeds.
  const seeding = Array.from({ length: size }, (_, i) => (i < n ? `S${i + 1}` : null));
  const storage = new InMemoryDatabase();
  const manager = new BracketsManager(storage);

  const started = performance.now();
  const settings = { seedOrdering: ['inner_outer'], size };
  if (format === 'double_elimination') settings.grandFinal = 'double';
  const stage = await manager.create.stage({
    tournamentId: 0, name: 'bench', type: format, seeding, settings,
  });
  const seedOf = new Map();
  for (const p of await storage.select('participant', { tournament_id: 0 })) {
    seedOf.set(p.id, Number(p.name.slice(1)));
  }
  // Double elimination: group 3 is the final group; its round 2 is the grand-final reset.
  const finalGroup = format === 'double_elimination'
    ? (await storage.select('group', { stage_id: stage.id, number: 3 }))[0]
    : undefined;
  const resetRound = finalGroup
    ? (await storage.select('round', { group_id: finalGroup.id, number: 2 }))[0]
    : undefined;
  const isResetMatch = (m) => resetRound !== undefined && m.round_id === resetRound.id;
  const meetings = new Map();
  let played = 0;
  let reset = false;
  let gf1WonByWinnersChampion = false;
  for (;;) {
    let ready = await storage.select('match', { stage_id: stage.id, status: Status.Ready });
    // brackets-manager 1.11 marks the second grand final Ready even when the winners-bracket
    // champion took the first one; that match is not played (the stage is decided).
    if (gf1WonByWinnersChampion) ready = ready.filter((m) => !isResetMatch(m));
    if (ready.length === 0) break;
    for (const m of ready) {
      const s1 = seedOf.get(m.opponent1.id);
      const s2 = seedOf.get(m.opponent2.id);
      const pair = s1 < s2 ? s1 * 65536 + s2 : s2 * 65536 + s1; // seeds stay below 65536
      const meeting = meetings.get(pair) ?? 0;
      meetings.set(pair, meeting + 1);
      const side = winnerSeed(s1, s2, meeting) === s1 ? 'opponent1' : 'opponent2';
      await manager.update.match({ id: m.id, [side]: { result: 'win' } });
      played += 1;
      if (finalGroup && m.group_id === finalGroup.id) {
        if (isResetMatch(m)) reset = true;
        else gf1WonByWinnersChampion = side === 'opponent1';
      }
    }
  }
  const elapsed = performance.now() - started;

  // Verification (not timed): every match is decided, a BYE match, or the unneeded reset.
  const matches = await storage.select('match', { stage_id: stage.id });
  const undecided = matches.filter((m) => !(
    m.status >= Status.Completed
    || m.opponent1 === null || m.opponent2 === null
    || (gf1WonByWinnersChampion && isResetMatch(m))
  ));
  // finalStandings() throws for a 2-entrant double elimination (no final group is created).
  const standings = await manager.get.finalStandings(stage.id).catch(() => []);
  return {
    ms: elapsed,
    played,
    reset,
    complete: undecided.length === 0,
    undecided: undecided.length,
    champion_seed: standings.length ? Number(standings[0].name.slice(1)) : null,
  };
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) fail(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function runs(n, least, budgetMs) {
  const done = [];
  let total = 0;
  while (done.length < least || (total < budgetMs && done.length < maxRuns)) {
    done.push(await run(n));
    total += done[done.length - 1].ms;
  }
  return done;
}

if (warmup > 0) await runs(Math.min(entrants, warmup), 1, warmupMs);
const timed = await runs(entrants, repeat, minMs);
const last = timed[timed.length - 1];
process.stdout.write(`${JSON.stringify({
  implementation: 'brackets-manager',
  version: require('brackets-manager/package.json').version,
  format,
  entrants,
  times_ms: timed.map((r) => r.ms),
  played: timed.map((r) => r.played),
  reset: last.reset,
  complete: timed.every((r) => r.complete),
  undecided: last.undecided,
  champion_seed: last.champion_seed,
})}\n`);
