/**
 * Compare (`npm run bench -- --only compare --baseline <git ref>`): whether the send path kept its
 * cost against a baseline commit (issue 13: the ratios stay within 10% of main's). The baseline's
 * sources come from `git archive` (lib.mjs snapshotRef), the current ones are the run's working
 * tree snapshot. Section 1's measurement (ratios.mjs, unchanged) runs alternately on each for
 * `--compare-rounds` rounds, the order turned round every round (baseline first in odd rounds,
 * current first in even ones: ABBA), every time on a fresh `wrangler dev` with fresh state, so
 * that the machine's drift during the run, and whatever goes with running first or second, fall
 * on both alike. Targets, on the means over
 * the rounds: current's throughput ratio ≥ 0.9 × baseline's, current's p99 ratio ≤ 1.1 × baseline's.
 */
import { join } from "node:path";
import { BENCH_DIR, format, loadLine, machine, markdownTable, passFail } from "./lib.mjs";
import { measureRatios, methodLines, runsTable, startRatiosServer } from "./ratios.mjs";

const MIN_THROUGHPUT_SHARE = 0.9;
const MAX_P99_SHARE = 1.1;

/** The four figures compared, each from one measurement's ratios. */
function figuresOf(settings) {
  const many = `${settings.tenants} tenants`;
  return [
    { name: "1 tenant, throughput / noop", of: (r) => r[0].throughput, higherIsBetter: true },
    { name: "1 tenant, p99 / noop", of: (r) => r[0].p99, higherIsBetter: false },
    { name: `${many}, throughput / noop`, of: (r) => r[1].throughput, higherIsBetter: true },
    { name: `${many}, p99 / noop`, of: (r) => r[1].p99, higherIsBetter: false },
  ];
}

const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;

/** Each figure's mean per source, current / baseline, and whether that meets its target. */
function verdicts(settings, measurements) {
  return figuresOf(settings).map((figure) => {
    const meanOf = (label) =>
      mean(measurements.filter((m) => m.source.label === label).map((m) => figure.of(m.ratios)));
    const baseline = meanOf("baseline");
    const current = meanOf("current");
    const share = current / baseline;
    const ok = figure.higherIsBetter ? share >= MIN_THROUGHPUT_SHARE : share <= MAX_P99_SHARE;
    const target = figure.higherIsBetter
      ? `≥ ${format(MIN_THROUGHPUT_SHARE, 2)}`
      : `≤ ${format(MAX_P99_SHARE, 2)}`;
    return { ...figure, baseline, current, share, ok, target };
  });
}

function compareMarkdown(settings, { before, sources, measurements, results }) {
  const [baseline, current] = sources;
  const figures = figuresOf(settings);
  const perRound = markdownTable(
    ["round", "source", "commit", "noop 202/s", "noop p99 ms", ...figures.map((f) => f.name)],
    [
      ...measurements.map((m) => [
        m.round,
        m.source.label,
        m.source.commit,
        format(m.runs[0].perSecond),
        m.runs[0].p99,
        ...figures.map((f) => format(f.of(m.ratios), 2)),
      ]),
      ...sources.map((source) => {
        const own = measurements.filter((m) => m.source === source);
        return [
          "mean",
          source.label,
          source.commit,
          format(mean(own.map((m) => m.runs[0].perSecond))),
          format(mean(own.map((m) => m.runs[0].p99))),
          ...results.map((r) => format(source === baseline ? r.baseline : r.current, 2)),
        ];
      }),
    ],
  );
  const verdictTable = markdownTable(
    ["figure", "baseline (mean)", "current (mean)", "current / baseline", "target", "result"],
    results.map((r) => [
      r.name,
      format(r.baseline, 2),
      format(r.current, 2),
      format(r.share, 2),
      r.target,
      passFail(r.ok),
    ]),
  );
  const runs = measurements.flatMap((m) => m.runs);
  const lead = [
    ["round", measurements.flatMap((m) => m.runs.map(() => m.round))],
    ["source", measurements.flatMap((m) => m.runs.map(() => m.source.label))],
  ];
  const drained = measurements
    .map((m) => {
      const times = m.settleTimes
        .map((t) =>
          t.seconds === null ? `not after ${settings.settleTimeout} s` : `${format(t.seconds)} s`,
        )
        .join(" / ");
      return `round ${m.round} ${m.source.label}: ${times}, not delivered ${m.notDelivered.length ? m.notDelivered.join(", ") : "none"}`;
    })
    .join("; ");
  const problems = measurements.flatMap((m) =>
    m.problems.map((p) => `round ${m.round} ${m.source.label}: ${p}`),
  );
  return `## Send path against a baseline, measured back to back

- Run: ${before.at}, ${loadLine(before.load)} before the run
- Baseline: \`--baseline ${baseline.ref}\`, commit ${baseline.commit} (its wrangler.toml, tsconfig.json, package.json, src/ and migrations/ through \`git archive\`; src/static/docs from the working tree); current: commit ${current.commit}, the run's snapshot of the working tree like every section
- Order: baseline then current in odd rounds, current then baseline in even ones (ABBA, so that running first or second falls on both alike), for ${settings.compareRounds} round${settings.compareRounds === 1 ? "" : "s"}; each measurement is section 1's (the same code), on a fresh \`wrangler dev\` with fresh state.
${methodLines(settings, measurements[0]?.keyRateLimit)}
- Backlog drain after 1 tenant / ${settings.tenants} tenants, and messages not delivered, per measurement: ${drained}
- Targets (issue 13), on the means over the rounds: current's throughput ratio ≥ ${format(MIN_THROUGHPUT_SHARE, 2)} × baseline's, current's p99 ratio ≤ ${format(MAX_P99_SHARE, 2)} × baseline's

${perRound}

${verdictTable}

${runsTable(runs, lead)}

${problems.length === 0 ? "No 429, 5xx, other non-202, connection error or time-out." : `**The run is not valid:** ${problems.join("; ")}.`}`;
}

export async function runCompare(settings) {
  const baseline = { label: "baseline", ...settings.baselineSource };
  const current = {
    label: "current",
    dir: settings.source.dir,
    commit: `${settings.source.commit}${settings.source.dirty ? " + uncommitted changes" : ""}`,
  };
  const sources = [baseline, current];
  const before = { load: machine().load, at: new Date().toISOString() };
  const measurements = [];
  for (let round = 1; round <= settings.compareRounds; round++) {
    for (const source of round % 2 === 1 ? sources : [...sources].reverse()) {
      console.log(
        `compare: round ${round} of ${settings.compareRounds}, ${source.label} (${source.commit})`,
      );
      const started = await startRatiosServer(settings, {
        root: source.dir,
        persistTo: join(BENCH_DIR, "tmp", "compare", `round${round}-${source.label}`),
      });
      try {
        const measured = await measureRatios(started, settings);
        measurements.push({ round, source, keyRateLimit: started.keyRateLimit, ...measured });
      } finally {
        await started.server.stop();
      }
    }
  }
  const results = verdicts(settings, measurements);
  const failures = [
    ...measurements.flatMap((m) =>
      m.problems.map((p) => `compare, round ${m.round} ${m.source.label}: ${p}`),
    ),
    ...results
      .filter((r) => !r.ok)
      .map(
        (r) =>
          `compare: ${r.name} current ${format(r.current, 2)} vs baseline ${format(r.baseline, 2)} (× ${format(r.share, 2)}, target ${r.target})`,
      ),
  ];
  for (const r of results) {
    console.log(
      `compare: ${r.name}: baseline ${format(r.baseline, 2)}, current ${format(r.current, 2)}, × ${format(r.share, 2)} ${r.ok ? "PASS" : "FAIL"}`,
    );
  }
  return {
    markdown: compareMarkdown(settings, { before, sources, measurements, results }),
    failures,
  };
}
