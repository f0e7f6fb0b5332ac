/**
 * Segment counting against Twilio's calculator: our `segmentsOf` (src/domain/segments.ts, bundled
 * by esbuild as the Worker runs it), `sms-segments-calculator` (Twilio's, the reference) and
 * `split-sms`, over one seeded corpus of mixed messages. Reports messages per second and
 * disagreements with Twilio on segments or encoding.
 * Targets: ≥ 500,000 msg/s for ours, and no disagreement with Twilio's calculator.
 *
 * Alone: `npx node test/bench/segments.mjs [messages]` prints the section, exits 1 on FAIL. Takes
 * about 90 s for 100,000 messages, nearly all of it in Twilio's calculator.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { markdownTable, passFail } from "./lib.mjs";
import { loadTs } from "./load-ts.mjs";

const require = createRequire(import.meta.url);
const { SegmentedMessage } = require("sms-segments-calculator");
const splitSms = require("split-sms");
const GraphemeSplitter = require("grapheme-splitter");

const TARGET_RATE = 500_000;
const SEED = 0x5e9e;
const OUR_ROUNDS = 5;
const SPLIT_SMS_ROUNDS = 3;
const EXAMPLES = 10;

// ---------------------------------------------------------------------------------------------
// Corpus

/** mulberry32: a small seeded PRNG, so every run counts the same messages. */
function randomFrom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min, max) => min + Math.floor(next() * (max - min + 1));
  const pick = (list) => list[int(0, list.length - 1)];
  return { next, int, pick };
}

const WORDS = (
  "your code is order has shipped and will arrive on delivery window reply STOP to opt out " +
  "appointment reminder tomorrow at please confirm by replying YES thanks for shopping with us " +
  "balance account payment received invoice due parcel locker pickup PIN verify login attempt " +
  "from new device if this was not you call support 24/7 meeting moved to room schedule update"
).split(" ");
const GSM_ACCENTED = [
  "café",
  "Müller",
  "señor",
  "Ørsted",
  "Straße",
  "à",
  "Ça",
  "Åland",
  "¿qué?",
  "ΔT",
];
const EXTENSION = ["€", "{", "}", "[", "]", "~", "^", "|", "\\"];
const HANZI =
  "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质信";
const CJK_PUNCTUATION = ["，", "。", "！", "？", "：", "、", "「", "」"];
const SIGNATURE = "【Relaybox】";

// Emoji whose clusters Twilio's calculator (grapheme-splitter, Unicode 10 data) and the current
// Unicode agree on: checked below, the run stops if one is split differently.
const EMOJI = {
  single: ["😀", "😂", "🎉", "🙏", "❤️", "✅", "🔥", "🚀", "📦", "☺️", "✈️", "🥰", "🥹", "🫠"],
  joined: [
    "👨‍👩‍👧‍👦",
    "👩‍💻",
    "👨‍⚕️",
    "🏳️‍🌈",
    "👁️‍🗨️",
    "🤷🏻‍♂️",
    "💁‍♀️",
    "🏃‍♀️",
    "👩‍❤️‍👨",
    "👨‍👨‍👧",
    "🧑🏽‍💻",
  ],
  flags: ["🇨🇳", "🇺🇸", "🇫🇷", "🇯🇵", "🇬🇧", "🇩🇪", "🇧🇷", "🇮🇳", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"],
  skinTones: ["👍🏽", "👋🏻", "🙏🏿", "💪🏾", "👶🏼", "🧑🏿", "✌🏼"],
  keycaps: ["1️⃣", "2️⃣", "#️⃣", "*️⃣", "0️⃣"],
};
const AGREED_EMOJI = Object.values(EMOJI).flat();

// Sequences made after Unicode 10, which Twilio's calculator splits into several clusters: a
// second, smaller corpus shows what that costs, apart from the target.
const NEWER_EMOJI = [
  "❤️‍🔥",
  "😮‍💨",
  "🐻‍❄️",
  "🏳️‍⚧️",
  "🐕‍🦺",
  "🧑‍🤝‍🧑",
  "🤝🏾",
  "🫶🏼",
  "🫱🏻‍🫲🏿",
  "🐦‍🔥",
  "🏃🏽‍♀️‍➡️",
];

function checkEmojiPools() {
  const splitter = new GraphemeSplitter();
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const clusters = (text) => [...segmenter.segment(text)].length;
  for (const emoji of AGREED_EMOJI) {
    if (splitter.countGraphemes(emoji) !== 1 || clusters(emoji) !== 1) {
      throw new Error(`${JSON.stringify(emoji)} is not one cluster for both; fix the pool`);
    }
  }
  for (const emoji of NEWER_EMOJI) {
    if (splitter.countGraphemes(emoji) === 1 || clusters(emoji) !== 1) {
      throw new Error(`${JSON.stringify(emoji)} is not a newer sequence; fix the pool`);
    }
  }
}

const SEGMENT_EDGES_GSM = [153, 306, 459, 612];
const SEGMENT_EDGES_UCS2 = [67, 134, 201, 268];

function corpusMaker(random) {
  const septets = (text) => {
    let count = 0;
    for (const char of text) {
      count += EXTENSION.includes(char) ? 2 : 1;
    }
    return count;
  };
  /** GSM-7 words, extension characters now and then, exactly `target` septets. */
  const gsmText = (target, extensionRate = 0.08) => {
    let text = "";
    let used = 0;
    while (used < target) {
      let word = random.next() < 0.1 ? random.pick(GSM_ACCENTED) : random.pick(WORDS);
      if (random.next() < extensionRate) {
        word =
          random.next() < 0.5
            ? `${random.pick(EXTENSION)}${word}`
            : `${word}${random.pick(EXTENSION)}`;
      }
      const piece = used === 0 ? word : ` ${word}`;
      const cost = septets(piece);
      if (used + cost > target) {
        text += "x".repeat(target - used);
        break;
      }
      text += piece;
      used += cost;
    }
    return text;
  };
  const hanzi = (count) => {
    let text = "";
    for (let i = 0; i < count; i += 1) {
      text += random.next() < 0.08 ? random.pick(CJK_PUNCTUATION) : random.pick(HANZI);
    }
    return text;
  };
  const around = (edges, slack) => random.pick(edges) + random.int(-slack, slack);

  const kinds = [
    // GSM-7, one part
    [25, () => gsmText(random.int(5, 160))],
    // GSM-7 up to five parts, some exactly at the single-part limit or a part boundary
    [
      15,
      () =>
        random.next() < 0.3
          ? gsmText(random.pick([160, 161, 306, 307, 459, 460, 612, 613, 765, 766]))
          : gsmText(random.int(161, 765)),
    ],
    // GSM-7 with an extension character on septets 153/154 (or just before or after)
    [
      8,
      () => {
        const edge = random.pick(SEGMENT_EDGES_GSM) + random.int(-2, 1);
        return `${gsmText(edge - 1, 0)}${random.pick(EXTENSION)}${gsmText(random.int(0, 200))}`;
      },
    ],
    // Chinese, one part, half of them with the signature the route adds
    [15, () => `${random.next() < 0.5 ? SIGNATURE : ""}${hanzi(random.int(4, 60))}`],
    // Chinese, several parts
    [10, () => `${SIGNATURE}${hanzi(random.int(61, 330))}`],
    // Emoji in Latin or Chinese text
    [
      12,
      () => {
        const pieces = [];
        const count = random.int(1, 8);
        for (let i = 0; i < count; i += 1) {
          pieces.push(random.next() < 0.5 ? gsmText(random.int(3, 60)) : hanzi(random.int(2, 30)));
          pieces.push(random.pick(AGREED_EMOJI));
        }
        return pieces.join(random.next() < 0.5 ? " " : "");
      },
    ],
    // An emoji sequence across a UCS-2 part boundary
    [
      8,
      () => {
        const emoji = random.pick(AGREED_EMOJI);
        const start = around(SEGMENT_EDGES_UCS2, emoji.length) - random.int(0, emoji.length);
        return `${hanzi(Math.max(start, 1))}${emoji}${hanzi(random.int(0, 80))}`;
      },
    ],
    // Latin text that one character takes out of GSM-7: curly quotes, ç, dashes, an ellipsis
    [
      7,
      () => {
        const odd = random.pick(["’", "“", "”", "ç", "—", "…", "\u00a0", "ñ", "É"]);
        const text = gsmText(random.int(20, 300));
        const at = random.int(0, text.length);
        return `${text.slice(0, at)}${odd}${text.slice(at)}`;
      },
    ],
  ];
  const total = kinds.reduce((sum, [weight]) => sum + weight, 0);
  const message = () => {
    let roll = random.next() * total;
    for (const [weight, make] of kinds) {
      roll -= weight;
      if (roll < 0) {
        return make();
      }
    }
    return kinds[0][1]();
  };
  const newerEmojiMessage = () => {
    const emoji = random.pick(NEWER_EMOJI);
    if (random.next() < 0.5) {
      const start = around(SEGMENT_EDGES_UCS2, emoji.length) - random.int(0, emoji.length);
      return `${hanzi(Math.max(start, 1))}${emoji}${hanzi(random.int(0, 80))}`;
    }
    const pieces = [];
    for (let i = random.int(1, 8); i > 0; i -= 1) {
      pieces.push(
        hanzi(random.int(2, 40)),
        random.next() < 0.5 ? emoji : random.pick(AGREED_EMOJI),
      );
    }
    return pieces.join("");
  };
  return { message, newerEmojiMessage };
}

export function segmentsCorpus(messages, seed = SEED) {
  checkEmojiPools();
  const maker = corpusMaker(randomFrom(seed));
  const main = Array.from({ length: messages }, maker.message);
  const newer = Array.from({ length: Math.ceil(messages / 10) }, maker.newerEmojiMessage);
  return { main, newer };
}

// ---------------------------------------------------------------------------------------------
// Implementations: each gives { segments, encoding } with our encoding names.

function twilio(text) {
  const message = new SegmentedMessage(text, "auto");
  return { segments: message.segmentsCount, encoding: message.getEncodingName() };
}

function splitSmsCount(text) {
  const result = splitSms.split(text, { summary: true });
  return {
    segments: result.parts.length,
    encoding: result.characterSet === "GSM" ? "GSM-7" : "UCS-2",
  };
}

/** Messages per second over the corpus: the median of `rounds` timed rounds after one warm-up. */
function measure(count, corpus, rounds) {
  let sink = 0;
  const pass = () => {
    const started = process.hrtime.bigint();
    for (const text of corpus) {
      sink += count(text).segments;
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  };
  pass();
  const seconds = Array.from({ length: rounds }, pass).sort((a, b) => a - b);
  if (sink < 0) {
    throw new Error("unreachable: keeps the results alive");
  }
  return corpus.length / seconds[Math.floor(rounds / 2)];
}

function disagreements(count, corpus, reference) {
  const found = [];
  corpus.forEach((text, i) => {
    const ours = count(text);
    const theirs = reference[i];
    if (ours.segments !== theirs.segments || ours.encoding !== theirs.encoding) {
      found.push({ text, ours, theirs });
    }
  });
  return found;
}

// ---------------------------------------------------------------------------------------------
// Report

const rate = (value) => Math.round(value).toLocaleString("en-US");

/**
 * The text as a JSON string with every code point but letters, digits and punctuation escaped, so
 * that joiners, selectors, skin tones and tags show (and a backtick cannot end the code span).
 */
function escaped(text) {
  return JSON.stringify(text).replace(/[^\x20-\x5f\x61-\x7e\p{L}\p{N}\p{P}]/gu, (char) => {
    const code = char.codePointAt(0) ?? 0;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

function exampleLines(found, name) {
  return found.slice(0, EXAMPLES).map(({ text, ours, theirs }) => {
    const what = `${name} ${ours.segments} ${ours.encoding}, Twilio ${theirs.segments} ${theirs.encoding}`;
    return `- ${what}, ${text.length} UTF-16 units: \`${escaped(text)}\``;
  });
}

export async function runSegmentsBench({ messages = 100_000, log = console.log } = {}) {
  const { segmentsOf } = await loadTs("src/domain/segments.ts");
  const { main, newer } = segmentsCorpus(messages);
  const failures = [];

  log(`segments: Twilio's calculator over ${main.length + newer.length} messages (slow)…`);
  const warmUp = main.slice(0, 1_000);
  for (const text of warmUp) {
    twilio(text);
  }
  const started = process.hrtime.bigint();
  const twilioMain = main.map(twilio);
  const twilioRate = main.length / (Number(process.hrtime.bigint() - started) / 1e9);
  const twilioNewer = newer.map(twilio);

  log("segments: ours and split-sms…");
  const oursRate = measure(segmentsOf, main, OUR_ROUNDS);
  const splitRate = measure(splitSmsCount, main, SPLIT_SMS_ROUNDS);
  const oursWrong = disagreements(segmentsOf, main, twilioMain);
  const splitWrong = disagreements(splitSmsCount, main, twilioMain);
  const oursNewer = disagreements(segmentsOf, newer, twilioNewer);
  const splitNewer = disagreements(splitSmsCount, newer, twilioNewer);

  // `characters` must stay grapheme clusters whatever path counted them.
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const clusterMismatches = [...main, ...newer].filter(
    (text) => segmentsOf(text).characters !== [...segmenter.segment(text)].length,
  ).length;

  if (oursRate < TARGET_RATE) {
    failures.push(`segmentsOf: ${rate(oursRate)} msg/s, target ≥ ${rate(TARGET_RATE)}`);
  }
  if (oursWrong.length > 0) {
    failures.push(`segmentsOf: ${oursWrong.length} disagreements with Twilio's calculator`);
  }
  if (clusterMismatches > 0) {
    failures.push(`segmentsOf: ${clusterMismatches} character counts differ from Intl.Segmenter`);
  }
  const passed = failures.length === 0;

  const encodings = { "GSM-7": 0, "UCS-2": 0 };
  const parts = new Map();
  for (const { segments, encoding } of twilioMain) {
    encodings[encoding] += 1;
    parts.set(segments, (parts.get(segments) ?? 0) + 1);
  }
  const partsLine = [...parts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([segments, count]) => `${segments}: ${count}`)
    .join(", ");

  const markdown = [
    "## Segment counting",
    "",
    `How: ${main.length.toLocaleString("en-US")} messages made from a fixed seed (GSM-7 in one ` +
      "to five parts, with extension characters sprinkled and placed on septets 153/154, 306/307…; " +
      "Chinese short and long, half with the signature 【Relaybox】; emoji (ZWJ sequences, flags, " +
      "skin tones, keycaps, tag flags) in Latin or Chinese text and across the UCS-2 part " +
      "boundaries; Latin text with one non-GSM character). Each implementation counts the whole " +
      `corpus in Node ${process.version}: ours the median of ${OUR_ROUNDS} rounds and split-sms ` +
      `of ${SPLIT_SMS_ROUNDS}, each after a warm-up round; Twilio's calculator one timed round ` +
      "(after 1,000 messages of warm-up), whose results are the reference. A disagreement is a " +
      "different segment count or encoding. Ours is `segmentsOf` from src/domain/segments.ts, " +
      "bundled by esbuild.",
    "",
    `Corpus by Twilio's count: ${encodings["GSM-7"]} GSM-7 and ${encodings["UCS-2"]} UCS-2; ` +
      `segments ${partsLine}.`,
    "",
    markdownTable(
      ["implementation", "msg/s", "disagreements with Twilio (segments or encoding)"],
      [
        ["Relaybox `segmentsOf`", rate(oursRate), String(oursWrong.length)],
        ["Twilio `sms-segments-calculator` 1.3.0", rate(twilioRate), "reference"],
        ["`split-sms` 0.1.7", rate(splitRate), String(splitWrong.length)],
      ],
    ),
    "",
    `Grapheme clusters: \`characters\` differs from Intl.Segmenter's count on ${clusterMismatches} ` +
      "messages.",
    "",
    `Apart from the target, ${newer.length.toLocaleString("en-US")} messages with emoji ` +
      "sequences made after Unicode 10 (❤️‍🔥, 🫶🏼, 🐦‍🔥…), which Twilio's calculator splits " +
      "(grapheme-splitter 1.0.4 has Unicode 10 data) and we keep whole, as the issue asks of " +
      `joined emoji: ours disagrees with it on ${oursNewer.length}, split-sms on ` +
      `${splitNewer.length}.`,
    "",
    `${passFail(passed)}: ${rate(oursRate)} msg/s (target ≥ ${rate(TARGET_RATE)}), ` +
      `${oursWrong.length} disagreements with Twilio's calculator (target 0).`,
  ];
  if (oursWrong.length > 0) {
    markdown.push("", "Disagreements of ours:", "", ...exampleLines(oursWrong, "ours"));
  }
  if (splitWrong.length > 0) {
    markdown.push("", "Disagreements of split-sms, for the record:", "");
    markdown.push(...exampleLines(splitWrong, "split-sms").slice(0, 3));
  }
  if (oursNewer.length > 0) {
    markdown.push("", "Newer emoji sequences, ours against Twilio:", "");
    markdown.push(...exampleLines(oursNewer, "ours").slice(0, 3));
  }
  return { markdown: markdown.join("\n"), passed, failures };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const messages = Number(process.argv[2] ?? 100_000);
  const { markdown, passed, failures } = await runSegmentsBench({
    messages,
    log: (line) => console.error(line),
  });
  console.log(markdown);
  for (const failure of failures) {
    console.error(`FAIL ${failure}`);
  }
  process.exit(passed ? 0 : 1);
}
