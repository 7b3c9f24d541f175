import { costPerMillion, PRICES } from './capacity';
import type { BundleColdStart } from './cold-start';
import type { RegimeCalls } from './dynamo-calls';
import {
  BURST_GAP_MS,
  type Burst,
  DEFAULT_CACHE_SECONDS,
  DEFAULT_HOLD_BACK_SECONDS,
  type FleetResult,
  type FleetRun,
  fleetLabel,
} from './fleet';
import { round } from './load';
import type { OverheadCell, OverheadResult, PathNumbers } from './overhead';
import type { PortkeyStatus } from './portkey';
import type { StatsLatency } from './stats-latency';
import type { StreamTimings } from './streaming-ttfb';

/** Everything `npm run bench` measured: bench/results/latest.json. */
export interface BenchResults {
  date: string;
  /** CPU model × cores, Node version. */
  machine: string;
  /** Load average (1 min) of the machine when the run started and ended: other work on it skews absolute times. */
  loadAverage: { start: number; end: number };
  durationSeconds: number;
  portkey: PortkeyStatus;
  overhead: OverheadResult;
  streaming: StreamTimings[];
  fleet: FleetResult;
  dynamoCalls: RegimeCalls[];
  dynamoCost: { ratePerSecond: number; regimes: RegimeCalls[] };
  coldStart: BundleColdStart[];
  statsLatency: StatsLatency;
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2) : '–');
const signedMs = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${ms(Math.abs(v))}` : '–');
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
const dollars = (v: number) => (v === 0 ? '$0' : v < 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(3)}`);

function pathOf(cell: OverheadCell, path: PathNumbers['path']): PathNumbers | undefined {
  return cell.paths.find((p) => p.path === path);
}

function overheadSection(r: BenchResults): string[] {
  const { overhead } = r;
  const pk = overhead.portkey;
  const lines = [
    '## 1. Overhead (non-streaming)',
    '',
    `Requests: \`POST /v1/chat/completions\` (OpenAI format, ~60-byte body, ~330-byte JSON answer) to the fake upstream, which answers at once or after 20 ms. Paths: **direct** to the fake; **llm-gateway**: the local runtime in its own Node process (DynamoDB Local breaker store, 1 s breaker read cache, as one Lambda container); **Portkey**: ${pk.available ? `\`@portkey-ai/gateway\` ${pk.version} (\`build/start-server.js --headless\`, NODE_ENV=production) in its own Node process, told the upstream with \`x-portkey-provider: openai\` + \`x-portkey-custom-host\`` : `not measured: ${pk.reason}`}. A closed-loop client (keep-alive, one connection per in-flight request) sends each cell's requests in ${overhead.cells[0]?.rounds ?? 5} alternating rounds per path (order rotated every round), after a warm-up of 100 requests per path and upstream. Added = path minus direct at the same percentile.`,
    '',
    '| upstream | concurrency | path | requests | p50 ms | p99 ms | added p50 | added p99 | req/s | req/s vs direct |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const cell of overhead.cells) {
    const direct = pathOf(cell, 'direct');
    for (const p of cell.paths) {
      const added = (q: 'p50' | 'p99') => (p.path === 'direct' || !direct ? '' : signedMs(p[q] - direct[q]));
      lines.push(
        `| ${cell.upstreamDelayMs} ms | ${cell.concurrency} | ${p.path} | ${p.requests}${p.errors ? ` (${p.errors} errors)` : ''} | ${ms(p.p50)} | ${ms(p.p99)} | ${added('p50')} | ${added('p99')} | ${p.rps} | ${p.path === 'direct' || !direct ? '' : ratio(p.rps, direct.rps)} |`,
      );
    }
  }
  lines.push(
    '',
    `llm-gateway against ${pk.available ? 'Portkey' : 'direct'}, side by side (for latency below 1× the gateway is faster; for req/s above 1× it serves more). "memory store" is the same gateway with per-process in-memory breakers instead of DynamoDB: the difference is what the shared store costs on the request path. The last column counts the DynamoDB-backed gateway's breaker reads (BatchGetItem) while it served the cell.`,
    '',
    pk.available
      ? '| upstream | concurrency | p50 ÷ Portkey | p99 ÷ Portkey | req/s ÷ Portkey | memory store: p50 ÷ Portkey | p99 ÷ Portkey | req/s ÷ Portkey | DynamoDB reads/s (per request) |'
      : '| upstream | concurrency | p50 ÷ direct | p99 ÷ direct | req/s ÷ direct | memory store: p50 ÷ direct | p99 ÷ direct | req/s ÷ direct | DynamoDB reads/s (per request) |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const cell of overhead.cells) {
    const gw = pathOf(cell, 'llm-gateway');
    const mem = pathOf(cell, 'llm-gateway (memory store)');
    const base = pathOf(cell, pk.available ? 'portkey' : 'direct');
    if (!gw || !mem || !base) continue;
    lines.push(
      `| ${cell.upstreamDelayMs} ms | ${cell.concurrency} | ${ratio(gw.p50, base.p50)} | ${ratio(gw.p99, base.p99)} | ${ratio(gw.rps, base.rps)} | ${ratio(mem.p50, base.p50)} | ${ratio(mem.p99, base.p99)} | ${ratio(mem.rps, base.rps)} | ${cell.gatewayReads.perSecond} (${cell.gatewayReads.perRequest}) |`,
    );
  }
  lines.push(
    '',
    'Reading it: every process (client + fake upstream, gateway, Portkey, DynamoDB Local) shares the same 2 cores, so at concurrency 32 the throughput is bounded by CPU, not by the upstream, and "added" latency there is mostly queueing for CPU. The local runtime is not the AWS deployment: in AWS the API Gateway → Lambda hop (not measurable here) replaces the local HTTP → event emulation, and DynamoDB answers in single-digit milliseconds instead of DynamoDB Local in Java on the same cores. p99 over a few hundred requests on a shared machine is noisy; compare the ratios, not the absolute times.',
    '',
  );
  return lines;
}

function streamingSection(r: BenchResults): string[] {
  const direct = r.streaming.find((s) => s.path.startsWith('direct'));
  return [
    '## 2. Streaming',
    '',
    'OpenAI SSE, 20 events: the upstream waits 30 ms before the first event, then 10 ms between events; one request at a time, the paths alternating request by request. The local runtime runs in the benchmark process here; Portkey in its own.',
    '',
    '| path | requests | TTFB p50 | TTFB p99 | total p50 | total p99 | added TTFB p50 | added total p50 |',
    '|---|---|---|---|---|---|---|---|',
    ...r.streaming.map(
      (s) =>
        `| ${s.path} | ${s.requests} | ${ms(s.ttfbP50)} | ${ms(s.ttfbP99)} | ${ms(s.totalP50)} | ${ms(s.totalP99)} | ${direct && s !== direct ? signedMs(s.ttfbP50 - direct.ttfbP50) : ''} | ${direct && s !== direct ? signedMs(s.totalP50 - direct.totalP50) : ''} |`,
    ),
    '',
    'The gateway answers only once the upstream has sent its first body byte (so it can still fail over before anything reached the client), then relays each chunk as it arrives. Portkey waits a fixed 25 ms before forwarding the first chunk of a stream (`setTimeout(…, 25)` in its stream transformer in `build/start-server.js`), which shows in its TTFB.',
    '',
  ];
}

/**
 * The fleet runs, each with its variant. In results recorded before the variants existed (two runs, no cacheSeconds,
 * label, detectionHits or probeBursts) the shared store had the then default 1 s read cache, and the first burst
 * stands for the detection; in results recorded before the hold-back existed (no holdBackSeconds) it was off.
 */
function fleetRuns(fleet: FleetResult): FleetRun[] {
  return fleet.runs.map((run) => {
    const cacheSeconds = run.cacheSeconds !== undefined ? run.cacheSeconds : run.store === 'shared DynamoDB' ? 1 : null;
    const holdBackSeconds = run.holdBackSeconds ?? 0;
    return {
      ...run,
      cacheSeconds,
      holdBackSeconds,
      label: run.label ?? fleetLabel({ store: run.store, cacheSeconds, holdBackSeconds }),
      detectionHits: run.detectionHits ?? run.bursts[0]?.hits ?? 0,
      probeBursts: run.probeBursts ?? run.bursts.slice(1),
    };
  });
}

/** The runs on the shared DynamoDB store, in their order. */
function sharedRuns(runs: FleetRun[]): FleetRun[] {
  return runs.filter((x) => x.store === 'shared DynamoDB');
}

/** The shared run with the gateway's default breaker settings (default read cache, no hold-back). */
function defaultsRun(runs: FleetRun[]): FleetRun | undefined {
  return sharedRuns(runs).find(
    (x) => x.cacheSeconds === DEFAULT_CACHE_SECONDS && x.holdBackSeconds === DEFAULT_HOLD_BACK_SECONDS,
  );
}

function memoryRun(runs: FleetRun[]): FleetRun | undefined {
  return runs.find((x) => x.store === 'in-memory per process');
}

/** Attempts of the detection, and how many of them reached the instance after its circuit first opened. */
function detectionOf(run: FleetRun): { hits: number; afterOpening: number } {
  return { hits: run.detectionHits, afterOpening: Math.max(0, run.detectionHits - run.hitsBeforeOpen) };
}

/** Attempts per burst after the detection (one burst per backoff window), or '–'. */
function laterBursts(run: FleetRun): string {
  return run.probeBursts.length > 0 ? run.probeBursts.map((x) => x.hits).join(', ') : '–';
}

function fleetCost(run: FleetRun): number {
  return costPerMillion(run.dynamo.rruPerRequest, run.dynamo.wruPerRequest);
}

function fleetRow(run: FleetRun): string {
  return `| ${run.label} | ${run.processes} | ${run.requests} | ${run.errors} | **${run.deadHits}** | ${run.target} | ${detectionOf(run).hits} | ${laterBursts(run)} | ${run.firstOpenMs ?? '–'} | ${run.openings} | ${run.storeErrors} | ${ms(run.p50Ms)} / ${ms(run.p99Ms)} | ${run.dynamo.callsPerRequest} | ${run.dynamo.rruPerRequest} / ${run.dynamo.wruPerRequest} | ${dollars(fleetCost(run))} |`;
}

/** How one variant is set up, for the description of the runs. */
function fleetSetup(run: FleetRun): string {
  const holdBack =
    run.holdBackSeconds > 0
      ? `a ${run.holdBackSeconds} s hold-back (\`breaker.holdBackSeconds: ${run.holdBackSeconds}\`)`
      : `no hold-back (\`breaker.holdBackSeconds: 0\`${run.holdBackSeconds === DEFAULT_HOLD_BACK_SECONDS ? ', the default' : ''})`;
  if (run.cacheSeconds === null) return `per-process in-memory breakers (\`MemoryBreakerStore\`) with ${holdBack}`;
  const cache =
    run.cacheSeconds === 0
      ? 'no read cache (`breaker.cacheSeconds: 0`: every request reads the breaker items)'
      : `a ${run.cacheSeconds} s breaker read cache (\`breaker.cacheSeconds\`${run.cacheSeconds === DEFAULT_CACHE_SECONDS ? ', the default' : ''})`;
  return `the shared store with ${cache} and ${holdBack}`;
}

/** What the hold-back does, when a run has one. */
function holdBackNote(runs: FleetRun[]): string {
  if (!runs.some((x) => x.holdBackSeconds > 0)) return '';
  return " With a hold-back, while a container's failure write is pending it sends other requests elsewhere, and for that long (up to 1.5×, each container drawing its own end) after a failure no success has cleared every container that has read it prefers the other eligible instances (one that is the only eligible instance is used at once).";
}

/** Whether a run met the target, and where the attempts beyond it went: the detection or the backoff windows. */
function fleetVerdict(
  run: FleetRun,
  failureThreshold: number,
  /** Why attempts beyond the threshold reached the instance before the first opening, and after it. */
  causes: { before: string; after: string },
): string {
  const target = `${run.deadHits} attempts on the dead instance against a target of ${run.target} (failureThreshold ${failureThreshold} + ${run.backoffWindowsElapsed} elapsed backoff window(s))`;
  if (run.firstOpenMs === null) return `${target}: **missed** — the circuit never opened.`;
  if (run.deadHits <= run.target) return `${target}: **met**.`;
  const { hits: detection, afterOpening } = detectionOf(run);
  const laterHits = run.probeBursts.reduce((sum, x) => sum + x.hits, 0);
  const misses: string[] = [];
  if (detection > failureThreshold) {
    misses.push(
      `the detection had ${detection} attempts, ${detection - failureThreshold} beyond the threshold, ${Math.max(0, detection - afterOpening - failureThreshold)} of them before the circuit opened (${causes.before}) and ${afterOpening} after it (${causes.after})`,
    );
  }
  if (laterHits > run.backoffWindowsElapsed) {
    misses.push(
      `the backoff windows had ${laterHits} attempts in ${run.probeBursts.length} burst(s) (${laterBursts(run)}) where one probe per elapsed window allows ${run.backoffWindowsElapsed}`,
    );
  }
  return `${target}: **missed by ${run.deadHits - run.target}** — ${misses.join('; ')}.`;
}

function batchGetsPerRequest(run: FleetRun): number {
  return round((run.dynamo.commands.BatchGetItemCommand ?? 0) / Math.max(1, run.requests), 3);
}

/** When the fleet served clearly less than the rate asked: by how much, and what that did to the run. */
function paceNote(run: FleetRun, fleet: FleetResult): string {
  const served = run.requests / Math.max(0.001, run.seconds);
  if (served >= fleet.ratePerSecond * 0.9) return '';
  return ` The fleet served only ${Math.round(served)} of the ${fleet.ratePerSecond} req/s asked: each request waited for its reads of DynamoDB Local (which shares the machine's cores), and with at most ${fleet.concurrency} in flight that bounds the rate; so the run lasted ${run.seconds} s and saw ${run.backoffWindowsElapsed} backoff windows, which raises its target.`;
}

/** The run's DynamoDB use per request: calls (BatchGetItem among them), request units and dollars. */
function fleetUsage(run: FleetRun): string {
  const batchGets = batchGetsPerRequest(run);
  return `${run.dynamo.callsPerRequest} DynamoDB calls per request (${batchGets} BatchGetItem), ${run.dynamo.rruPerRequest} RRU + ${run.dynamo.wruPerRequest} WRU = ${dollars(fleetCost(run))} per million requests, client p50 / p99 ${ms(run.p50Ms)} / ${ms(run.p99Ms)} ms`;
}

/** The detection of a run against its bound, split at the first opening; `beyond` says what the attempts above it were. */
function detectionAgainst(run: FleetRun, bound: number, beyond: string): string {
  const { hits, afterOpening } = detectionOf(run);
  if (run.firstOpenMs === null) return `measured ${hits} attempts, and no circuit opened`;
  const split = `measured ${hits} (${run.hitsBeforeOpen} before the first opening at ${run.firstOpenMs} ms, ${afterOpening} after it)`;
  return hits <= bound ? `${split}, within that bound` : `${split}, ${hits - bound} above it: ${beyond}`;
}

/** The bursts of attempts until the first opening (every burst when no circuit opened). */
function burstsUntilOpening(run: FleetRun): Burst[] {
  return run.bursts.filter((x) => run.firstOpenMs === null || x.atMs <= run.firstOpenMs);
}

const burstList = (list: Burst[]) => list.map((x) => `${x.hits} at ${x.atMs} ms`).join(', ');

/** What a hold-back costs, for the runs that have one. */
function holdBackPrice(run: FleetRun): string {
  return ` The price of the hold-back: after any single failure no success has cleared, traffic moves to the lower-priority instance for ${run.holdBackSeconds} s, a one-off error on a healthy instance included; that is why \`holdBackSeconds\` is off by default (SPEC §4.3 keeps an instance whose circuit is closed at its priority).`;
}

/**
 * One shared run: its verdict, why its detection is bounded the way it is (by its cache and hold-back), what it
 * measured against that bound, its probes and its DynamoDB use.
 */
function sharedBullet(run: FleetRun, fleet: FleetResult): string {
  const threshold = fleet.breaker.failureThreshold;
  const stale = threshold + run.processes;
  const staleBound = `failureThreshold + one attempt per container whose read predates the first failure, ${threshold} + ${run.processes} = ${stale} here`;
  const cachedOpening = `containers whose cached read predated the opening, about one attempt each: up to ${run.processes} here`;
  const inFlight = 'requests that had read the breaker items before the opening was written, i.e. already in flight';
  const cache = run.cacheSeconds ?? 0;
  let causes: { before: string; after: string };
  let how: string;
  let price = '';
  if (cache > 0 && run.holdBackSeconds <= 0) {
    causes = {
      before: `containers that had not yet read any failure${run.hitsBeforeOpen > stale ? ', and, with no hold-back, containers that had read failures but still saw the circuit closed and kept sending there until the failure that opened it was written' : ''}`,
      after: cachedOpening,
    };
    how = `A container trusts a read that shows the instance healthy for up to ${cache} s. A failure is written while the request's next attempt is in flight; the container's next request reads the instance again, and a read that shows unconfirmed failures (circuit closed, failures no success has cleared) is repeated on every request, so the container sees the circuit open as soon as it is written. With no hold-back, though, a closed circuit keeps its instance's priority: until the failure that opens it is written, every request of a container goes there, even one that has read the earlier failures. Detection is therefore about ${staleBound}, plus the repeats of containers that keep sending while the stored circuit is still closed; ${detectionAgainst(run, stale, 'the repeats, sent while the stored circuit was still closed')}.`;
  } else if (cache > 0) {
    causes = {
      before: `containers whose read predated the first failure${run.hitsBeforeOpen > run.processes ? ', a few with more than one request on their way before their own failure came back' : ', about one attempt each'}: the hold-back keeps a container off the instance only once it has a failure pending or has read one`,
      after: cachedOpening,
    };
    how = `A container trusts a healthy read for up to ${cache} s here too, but it holds the instance back while its own failure write is pending and for ${run.holdBackSeconds} s after a failure it has read that no success has cleared, and sends those requests to the other instance. That stops the repeats: a container sends about one attempt, the one its stale read lets through, and detection is bounded by roughly ${staleBound}; ${detectionAgainst(run, stale, 'more than one attempt from some containers, requests on their way before the container had a failure pending')}.`;
    price = holdBackPrice(run);
  } else if (run.holdBackSeconds > 0) {
    const until = burstsUntilOpening(run);
    const first = until[0]?.hits ?? 0;
    const spaced = until.slice(1);
    const needed = Math.max(0, threshold - first);
    const bound = first + needed;
    const widest = Math.max(0, ...spaced.map((x) => x.hits));
    causes = {
      before:
        'requests that read the breaker items before a failure was written, and, when a hold-back ran out, every request that went there before the next failure was written',
      after: inFlight,
    };
    const here = spaced.length > 0 ? ` (here ${burstList(spaced)})` : '';
    const spacing =
      needed === 0
        ? 'already failureThreshold or more, so the circuit opens without waiting out a hold-back'
        : needed === 1
          ? `then the one failure the threshold still needs comes when the hold-back runs out${here}, so the circuit opens about one hold-back after the first failure`
          : `then the ${needed} failures the threshold still needs come one per hold-back${here}, so the circuit opens about ${needed} hold-backs after the first failure`;
    const beyond =
      widest > 1
        ? `containers whose drawn hold-backs ran out within the time the next failure took to be written and read all went there, ${widest} in one burst here${detectionOf(run).afterOpening > 0 ? ', and requests in flight at the opening' : ''}`
        : 'requests in flight when a failure or the opening was being written';
    how = `Every request reads the breaker items (concurrent requests of a container share a read in flight), and once a read shows a failure the hold-back keeps the container off the instance for ${run.holdBackSeconds} s to ${round(run.holdBackSeconds * 1.5, 2)} s (each container draws its own end, so that they do not all come back at once). So only the attempts sent before the first failure was written and read get there at once (${first} here${until[0] ? `, from ${until[0].atMs} ms` : ''}); ${spacing}. Detection is bounded by those ${first} + ${needed} = ${bound}; ${detectionAgainst(run, bound, beyond)}.`;
    price = holdBackPrice(run);
  } else {
    causes = { before: 'containers that had not yet read any failure of the instance', after: inFlight };
    const bound = threshold + fleet.concurrency;
    how = `Every request reads the breaker items (concurrent requests of one container share a read in flight), so detection is bounded by failureThreshold + the attempts already in flight (at most ${fleet.concurrency} requests were in flight here): ${threshold} + ${fleet.concurrency} = ${bound}; ${detectionAgainst(run, bound, 'requests that read the breaker items before the opening was written')}.`;
  }
  const usage =
    cache === 0 ? `No cache puts a read on the request path of every request: ${fleetUsage(run)}` : fleetUsage(run);
  return `- **${run.label}**: ${fleetVerdict(run, threshold, causes)} ${how} Probes after detection: ${laterBursts(run)}. ${usage}.${paceNote(run, fleet)}${price}`;
}

/** The knob(s) that differ from `from` to `to`: 'a 1 s hold-back', 'no cache instead of 1 s'. */
function knobsBetween(from: FleetRun, to: FleetRun): string[] {
  const knobs: string[] = [];
  if (from.holdBackSeconds !== to.holdBackSeconds) {
    knobs.push(
      to.holdBackSeconds > 0
        ? `a ${to.holdBackSeconds} s hold-back${from.holdBackSeconds > 0 ? ` instead of ${from.holdBackSeconds} s` : ''}`
        : `no hold-back instead of ${from.holdBackSeconds} s`,
    );
  }
  if (from.cacheSeconds !== to.cacheSeconds) {
    knobs.push(
      to.cacheSeconds === 0
        ? `no cache instead of ${from.cacheSeconds} s`
        : `a ${to.cacheSeconds} s cache instead of ${from.cacheSeconds === 0 ? 'none' : `${from.cacheSeconds} s`}`,
    );
  }
  return knobs;
}

/** What `to` measured against `from`: attempts, detection, opening, latency and DynamoDB use. */
function comparedRuns(from: FleetRun, to: FleetRun): string {
  const a = from.dynamo;
  const b = to.dynamo;
  return `attempts on the dead instance ${from.deadHits} → ${to.deadHits}, detection ${detectionOf(from).hits} → ${detectionOf(to).hits}, first opening ${from.firstOpenMs ?? '–'} → ${to.firstOpenMs ?? '–'} ms, client p50 ${ms(from.p50Ms)} → ${ms(to.p50Ms)} ms and p99 ${ms(from.p99Ms)} → ${ms(to.p99Ms)} ms, DynamoDB ${a.callsPerRequest} → ${b.callsPerRequest} calls, ${a.rruPerRequest} → ${b.rruPerRequest} RRU and ${a.wruPerRequest} → ${b.wruPerRequest} WRU per request, ${dollars(fleetCost(from))} → ${dollars(fleetCost(to))} per million requests (${ratio(fleetCost(to), fleetCost(from))})`;
}

/**
 * Each shared run after the first against the latest earlier one that differs from it in one knob (else the first):
 * what that knob bought and what it cost.
 */
function knobsBullet(shared: FleetRun[]): string | null {
  const parts: string[] = [];
  const later: string[] = [];
  let droppedCache = false;
  for (const [i, run] of shared.entries()) {
    if (i === 0) continue;
    const earlier = shared.slice(0, i).reverse();
    const base = earlier.find((x) => knobsBetween(x, run).length === 1) ?? shared[0];
    const knobs = knobsBetween(base, run);
    if (knobs.length === 0) continue;
    parts.push(`${knobs.join(' and ')} (${base.label} → ${run.label}): ${comparedRuns(base, run)}`);
    if (run.holdBackSeconds > 0 && (run.firstOpenMs ?? 0) > (base.firstOpenMs ?? 0)) {
      later.push(`${run.label} at ${run.firstOpenMs} ms against ${base.firstOpenMs ?? '–'} ms`);
    }
    if (run.cacheSeconds === 0 && base.cacheSeconds !== 0) droppedCache = true;
  }
  if (parts.length === 0) return null;
  const notes = [
    later.length > 0
      ? ` The later first opening with a hold-back (${later.join('; ')}) is the hold-back at work: once every container has read the first failure, the failures that open the circuit come one hold-back apart while the requests go to the other instance; what counts is the attempts on the dead instance.`
      : '',
    droppedCache
      ? ' The reads of no cache do not stop once the instances are healthy again: every request reads the breaker items (requests in flight in one container share a read), where a cached gateway reads about once per container-second (section 4).'
      : '',
  ];
  return `- **What each knob buys**: ${parts.join('; ')}.${notes.join('')}`;
}

/** What the fleet runs show, from their numbers. */
function fleetReading(fleet: FleetResult, runs: FleetRun[]): string[] {
  const shared = sharedRuns(runs);
  const defaults = defaultsRun(runs) ?? shared[0];
  const memory = memoryRun(runs);
  const threshold = fleet.breaker.failureThreshold;
  const writes = (run: FleetRun) => {
    const transactions = run.dynamo.commands.TransactWriteItemsCommand ?? 0;
    const puts = run.dynamo.commands.PutItemCommand ?? 0;
    return `${run.label}: ${puts} PutItem and ${transactions} TransactWriteItems for ${run.deadHits} failed attempts and ${run.openings} openings`;
  };
  const bullets = shared.map((run) => sharedBullet(run, fleet));
  const knobs = knobsBullet(shared);
  if (knobs) bullets.push(knobs);
  if (shared.length > 0) {
    bullets.push(
      `- **Failure writes**: the failures of ${shared[0].processes} containers race for one breaker item (conditional writes on its version). A failure that makes no transition is a conditional PutItem of the item alone (a lost race answers with the current item at once) with its event appended after it; only a transition goes in a TransactWriteItems with its event. A failure write that loses the race while the circuit is still closed is retried (the failure must be counted); one that loses it against a circuit already open is not (its failure event is still appended). The probes write too: at each retry time every request that finds the circuit due for a probe tries to take the lease, a TransactWriteItems as it moves the circuit to half-open, and all but one lose; a failed probe reopens the circuit in another. Measured (lost races included): ${shared.map(writes).join('; ')}.${shared.some((x) => x.storeErrors > 0) ? ` Store errors (${shared.map((x) => `${x.storeErrors} ${x.label}`).join(', ')}) put a container on its in-memory view for 2 s, during which it does not see the shared circuit.` : ''}`,
    );
  }
  if (memory && defaults) {
    bullets.push(
      `- **${memory.label}**: ${fleetVerdict(memory, threshold, {
        before: 'every process sends until its own circuit opens',
        after: `processes whose own circuit had not opened yet, each needing ${threshold} failures of its own`,
      })} Every process probes on its own in each window (${laterBursts(memory)}) against ${laterBursts(defaults)} for ${defaults.label}: ${ratio(memory.deadHits, defaults.deadHits)} as many attempts in all.`,
    );
  }
  return bullets.length > 0 ? ['Reading it:', '', ...bullets, ''] : [];
}

function fleetSection(r: BenchResults): string[] {
  const { fleet } = r;
  const runs = fleetRuns(fleet);
  const first = runs[0];
  const seconds = Math.max(...runs.map((x) => x.hitsPerSecond.length));
  const b = fleet.breaker;
  return [
    '## 3. Fleet coherence',
    '',
    `${first?.processes ?? 8} gateway processes (separate Node processes, each with its own cache, like ${first?.processes ?? 8} Lambda containers) share one DynamoDB Local. Two OpenAI instances: \`dead\` (priority 1) and \`healthy\` (priority 2). Breaker: failureThreshold ${b.failureThreshold}, backoff ${b.initialBackoffSeconds} s × ${b.backoffMultiplier} up to ${b.maxBackoffSeconds} s, no jitter. After a warm-up of ${fleet.warmupRequests} requests with both instances healthy, \`dead\` starts answering 503 and ${first?.requests ?? 2000} requests go round-robin across the processes at ${fleet.ratePerSecond} req/s with at most ${fleet.concurrency} in flight; every attempt that reaches \`dead\` is counted with its time. The run is made ${runs.length === 1 ? 'once' : `${runs.length} times`}: ${runs.map(fleetSetup).join('; ')}${sharedRuns(runs).length > 1 ? ' — each shared run on tables of its own' : ''}.${holdBackNote(runs)} Target: no more than failureThreshold + one probe per backoff window for the whole fleet. The detection is every attempt before the first retry time (the first opening + the initial backoff of ${b.initialBackoffSeconds} s): those before the circuit opened and those of containers that had not seen it yet. The attempts after it are grouped in bursts (attempts less than ${BURST_GAP_MS} ms apart; the shortest backoff is ${b.initialBackoffSeconds} s), each a backoff window's probe(s). Circuit openings come from the \`circuit_open\` events (shared: that run's events table; in-memory: each process's store). DynamoDB $ per million requests: the run's request units at the prices of section 4.`,
    '',
    '| variant | processes | requests | errors | attempts on the dead instance | target | detection | later bursts (one per window) | first circuit open (ms after death) | circuit openings | store errors | client p50 / p99 ms | DynamoDB calls / request | RRU / WRU per request | DynamoDB $ per million requests |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(fleetRow),
    '',
    'Attempts on the dead instance per second after it died:',
    '',
    `| second | ${runs.map((x) => x.label).join(' | ')} |`,
    `|---|${runs.map(() => '---|').join('')}`,
    ...Array.from(
      { length: seconds },
      (_, s) => `| ${s}–${s + 1} | ${runs.map((x) => x.hitsPerSecond[s] ?? 0).join(' | ')} |`,
    ),
    '',
    ...fleetReading(fleet, runs),
  ];
}

function costSection(r: BenchResults): string[] {
  const steady = r.dynamoCost.regimes.find((c) => c.regime.startsWith('steady'));
  const lines = [
    '## 4. Cost per request (DynamoDB)',
    '',
    'DynamoDB calls per request, one container, sequential requests as fast as they go (breaker backoff 2 s → 8 s):',
    '',
    '| regime | requests | seconds | reads/request | writes/request | commands |',
    '|---|---|---|---|---|---|',
    ...r.dynamoCalls.map(
      (c) =>
        `| ${c.regime} | ${c.requests} | ${c.seconds} | ${c.readsPerRequest} | ${c.writesPerRequest} | ${Object.entries(
          c.commands,
        )
          .map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`)
          .join(', ')} |`,
    ),
    '',
    `Cost: the same regimes with requests paced at **${r.dynamoCost.ratePerSecond} req/s per container** (breaker reads are cached per container for 1 s, so the read cost per request falls as the rate per container rises: about one BatchGetItem of every instance's breaker item per container-second while traffic flows). Request units are computed from each command the gateway sent, with DynamoDB's on-demand rules: an eventually consistent read of an item ≤ 4 KB = 0.5 RRU (BatchGetItem bills each item), a write = 1 WRU per KB, a TransactWriteItems item = 2 WRU per KB. Prices: ${PRICES.region} on-demand, $${PRICES.writePerMillionWru} per million WRU and $${PRICES.readPerMillionRru} per million RRU (in force since ${PRICES.since}; checked ${r.date.slice(0, 10)}).`,
    '',
    '| regime | requests | RRU/request | WRU/request | DynamoDB $ per million requests |',
    '|---|---|---|---|---|',
    ...r.dynamoCost.regimes.map((c) =>
      c.requests < 10
        ? // A handful of requests is a one-off cost per outage, not a per-request regime.
          `| ${c.regime} | ${c.requests} | ${c.rruPerRequest} | ${c.wruPerRequest} | one-off, per outage: ${round(c.rruPerRequest * c.requests, 2)} RRU + ${round(c.wruPerRequest * c.requests, 2)} WRU = $${((costPerMillion(c.rruPerRequest, c.wruPerRequest) * c.requests) / 1e6).toFixed(7)} |`
        : `| ${c.regime} | ${c.requests} | ${c.rruPerRequest} | ${c.wruPerRequest} | ${dollars(costPerMillion(c.rruPerRequest, c.wruPerRequest))} |`,
    ),
  ];
  const shared = defaultsRun(fleetRuns(r.fleet));
  if (shared) {
    lines.push(
      '',
      `Fleet outage (section 3, ${shared.label}, ${shared.processes} containers at ${Math.round(r.fleet.ratePerSecond / shared.processes)} req/s each, backoff 1 → 4 s): ${shared.dynamo.rruPerRequest} RRU + ${shared.dynamo.wruPerRequest} WRU per request = ${dollars(costPerMillion(shared.dynamo.rruPerRequest, shared.dynamo.wruPerRequest))} per million requests while the instance is down.`,
    );
  }
  lines.push(
    '',
    `Reading it: a healthy gateway writes nothing; its cost is the breaker reads, about one BatchGetItem of every instance's item per container-second, so the read cost per request is set by the request rate per container (measured at ${r.dynamoCost.ratePerSecond} req/s: ${steady?.rruPerRequest ?? '–'} RRU in ${steady?.readsPerRequest ?? '–'} BatchGetItem calls per request${steady && steady.readsPerRequest > steady.rruPerRequest + 0.01 ? "; more calls than RRU when the two instances' cache entries expire at different times and each is then read in its own call — the same RRU, more round trips" : ''}). Writes happen only on failures and transitions: each recorded failure is a conditional PutItem of the breaker item (1 WRU per KB) with its \`failure\` event appended in a BatchWriteItem — one TransactWriteItems of both (2 WRU per KB of each) when it opens the circuit — plus a \`failover\` event, so an outage costs a handful of WRU per failure and per backoff window for the whole fleet, not per request. The bench uses 1–8 s backoffs; with the default 60 → 600 s, outage and recovery writes per request are far lower. Not included: the events table's stream, the aggregator's rollup writes and storage.`,
    '',
  );
  return lines;
}

function coldStartSection(r: BenchResults): string[] {
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  return [
    '## 5. Cold start',
    '',
    `Each Lambda bundle built with the deploy's esbuild settings (\`infra/bundle-options.ts\`: ESM, minified, AWS SDK bundled), then imported in ${r.coldStart[0]?.runs ?? 5} fresh \`node\` processes each (after one to warm the file cache), with the Lambda streaming global defined first. Median times; "ready" counts from process start (Node's own start-up included). The stack deploys with \`NODE_OPTIONS=--enable-source-maps\`.`,
    '',
    '| function | bundle | gzipped | source map | import p50 | import min | ready p50 | import with --enable-source-maps |',
    '|---|---|---|---|---|---|---|---|',
    ...r.coldStart.map(
      (b) =>
        `| ${b.name} | ${kib(b.bytes)} | ${kib(b.gzipBytes)} | ${kib(b.sourceMapBytes)} | ${ms(b.importMs)} ms | ${ms(b.importMinMs)} ms | ${ms(b.readyMs)} ms | ${ms(b.importWithSourceMapsMs)} ms |`,
    ),
    '',
    'Reading it: this is the part of a Lambda cold start the code controls (module load and top-level work); the Lambda service adds its own sandbox and runtime start-up, and the first invocation then builds the container’s dependencies (config, DynamoDB client, first breaker read). Portkey has no equivalent: it runs as a long-lived server.',
    '',
  ];
}

function statsSection(r: BenchResults): string[] {
  return [
    '## 6. Failure event → visible in /stats',
    '',
    `Local stream poller at its 200 ms interval: p50 ${r.statsLatency.p50Ms} ms, max ${r.statsLatency.maxMs} ms over ${r.statsLatency.samples} samples.`,
    '',
  ];
}

/** The DynamoDB-backed gateway's breaker reads at `concurrency`: per request, and per second of serving. */
function readsAt(r: BenchResults, concurrency: number): string {
  const cells = r.overhead.cells.filter((c) => c.concurrency === concurrency);
  if (cells.length === 0) return '–';
  return `${cells.map((c) => c.gatewayReads.perRequest).join(' / ')} reads per request (${cells.map((c) => c.gatewayReads.perSecond).join(' / ')} per second of serving)`;
}

/** The fleet's attempts per backoff window, shared store (default settings) against per-process breakers. */
function probesCompared(r: BenchResults): string {
  const runs = fleetRuns(r.fleet);
  const shared = defaultsRun(runs);
  const memory = memoryRun(runs);
  if (!shared || !memory) return 'section 3';
  return `section 3: attempts per backoff window ${laterBursts(shared)} with the shared store, ${laterBursts(memory)} with per-process state`;
}

/** Where the gateway is behind Portkey, from the numbers of this run, and why. */
function closingSection(r: BenchResults): string[] {
  const lines = ['## Where llm-gateway is behind the peer, and why', ''];
  if (!r.overhead.portkey.available) {
    lines.push(`Portkey could not be measured in this run (${r.overhead.portkey.reason}).`, '');
    return lines;
  }
  const findings: string[] = [];
  for (const cell of r.overhead.cells) {
    const pk = pathOf(cell, 'portkey');
    const direct = pathOf(cell, 'direct');
    if (!pk || !direct) continue;
    const where = `upstream ${cell.upstreamDelayMs} ms, concurrency ${cell.concurrency}`;
    const verdicts = (['llm-gateway', 'llm-gateway (memory store)'] as const).map((name) => {
      const gw = pathOf(cell, name);
      if (!gw) return '';
      const behind: string[] = [];
      const addedGw = gw.p50 - direct.p50;
      const addedPk = pk.p50 - direct.p50;
      if (gw.p50 > pk.p50 * 1.05 && addedGw - addedPk > 0.1) {
        behind.push(`p50 ${ms(gw.p50)} vs ${ms(pk.p50)} ms (adds ${ms(addedGw)} vs ${ms(addedPk)} ms)`);
      }
      if (gw.p99 > pk.p99 * 1.1) behind.push(`p99 ${ms(gw.p99)} vs ${ms(pk.p99)} ms`);
      if (gw.rps < pk.rps * 0.95) behind.push(`${gw.rps} vs ${pk.rps} req/s (${ratio(gw.rps, pk.rps)})`);
      return behind.length > 0
        ? `${name}: **behind** — ${behind.join('; ')}`
        : `${name}: level or ahead — p50 ${ms(gw.p50)} vs ${ms(pk.p50)} ms, p99 ${ms(gw.p99)} vs ${ms(pk.p99)} ms, ${gw.rps} vs ${pk.rps} req/s`;
    });
    findings.push(`- ${where}: ${verdicts.filter(Boolean).join('. ')}.`);
  }
  const anyBehind = findings.some((f) => f.includes('**behind**'));
  const gwStream = r.streaming.find((s) => s.path.includes('local runtime'));
  const pkStream = r.streaming.find((s) => s.path.includes('Portkey'));
  if (gwStream && pkStream) {
    findings.push(
      gwStream.ttfbP50 > pkStream.ttfbP50
        ? `- **Behind** on streaming TTFB: p50 ${ms(gwStream.ttfbP50)} vs ${ms(pkStream.ttfbP50)} ms.`
        : `- Ahead on streaming TTFB: p50 ${ms(gwStream.ttfbP50)} vs Portkey's ${ms(pkStream.ttfbP50)} ms (Portkey's fixed 25 ms first-chunk pause); total time p50 ${ms(gwStream.totalP50)} vs ${ms(pkStream.totalP50)} ms.`,
    );
  }
  lines.push(
    'From this run (llm-gateway vs Portkey; "behind" = more than 5 % slower at p50 and 0.1 ms more added, 10 % at p99, or 5 % fewer req/s):',
    '',
    ...findings,
    '',
    anyBehind
      ? 'What explains the gaps (each checked in the code, with a request, or in a CPU profile of the gateway process under load):'
      : 'No cell is behind in this run by those thresholds; where the gateway trails by less, or in a noisier run, these are the causes (each checked in the code, with a request, or in a CPU profile of the gateway process under load):',
    '',
    `- **Breaker reads on the request path${anyBehind ? ' — the p99 gap' : ''}.** The 1 s breaker cache is refreshed synchronously: the request that finds it expired waits for a BatchGetItem (here DynamoDB Local, in Java, on the same 2 cores). Concurrent requests of the process that find it expired share one read and all wait for it: the DynamoDB-backed process made ${readsAt(r, 1)} at concurrency 1 and ${readsAt(r, 32)} at concurrency 32, for the 0 / 20 ms upstreams. Recording a success on an instance last seen healthy reads and writes nothing. The "memory store" rows are the same gateway without these reads. In Lambda a container serves one request at a time, so there the reads scale with containers, not with requests in flight — but every container still pays one DynamoDB round trip per second on some request.`,
    '- **Per-request work for failover.** The proxy reads the first body byte of the upstream answer before it answers (so it can still fail over on an error event or a dead stream), relays the body through its own stream with an SSE watcher, creates an AbortController and timers per attempt and an `AbortSignal.timeout` per request (the Lambda deadline), and checks and updates the breaker view. Portkey forwards the upstream response without such checks; where the gateway trails on p50 or req/s this is the cost.',
    '- **The local runtime emulates API Gateway + Lambda.** Each HTTP request becomes a REST proxy event (headers copied into two maps, the body buffered and decoded), runs through middy and the response-streaming handler, and the answer goes out as a forced head flush, one write per body chunk and the chunked terminator — three socket writes for a small JSON answer (`LocalResponseStream.setPrelude` → `flushHeaders`); `writev` was ~15 % of the gateway process’s busy CPU in a profile. In AWS this layer is API Gateway + Lambda itself, whose overhead is not measured here, while Portkey is a long-running server you operate.',
    '- **Why the gateway can still be ahead.** Portkey parses every request body and rebuilds it from the parameters it knows (a request with an extra field reached the upstream without it, whitespace normalised), runs its hooks/guardrails pipeline, and on streams waits 25 ms before the first chunk. llm-gateway forwards same-format bodies byte for byte.',
    `- **What Portkey does not do, and the gateway does:** keep instance health between requests. Portkey's open-source server calls a \`handleCircuitBreakerResponse\` hook that nothing in it provides, so its retries and fallbacks act within one request and every request may try a dead target again; llm-gateway keeps per-instance breakers shared by every container (${probesCompared(r)}), admits a single half-open probe, writes failure events and stats, and costs nothing idle on Lambda.`,
    '',
  );
  return lines;
}

/** BENCHMARKS.md, regenerated from the results of one run. */
export function renderMarkdown(r: BenchResults): string {
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${r.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} — ${r.machine}; the run took ${Math.round(r.durationSeconds)} s. Load average (1 min) at start / end: ${r.loadAverage.start.toFixed(2)} / ${r.loadAverage.end.toFixed(2)} on 2 cores shared with other work, so absolute times drift between runs: compare the ratios measured side by side within one run. Everything runs on loopback against the programmable fake upstream (local/fake-provider.ts); every loop is bounded in requests and time. Raw numbers: bench/results/latest.json (not committed).`,
    '',
    ...overheadSection(r),
    ...streamingSection(r),
    ...fleetSection(r),
    ...costSection(r),
    ...coldStartSection(r),
    ...statsSection(r),
    ...closingSection(r),
  ].join('\n');
}
