/**
 * The long bit-flip corpus (issue 12): `bun scripts/bench/bitflip.ts [flips-per-image] [seed]`.
 * Flips one bit per case over a clean store and a crash image (journal ahead of the files), opens
 * each, reads everything back and prints the counts. Exits 1 if anything served differs from what
 * was acknowledged. The CI-sized version is test/store/fs-bitflip.test.ts.
 */
import { cleanScratch } from "../../test/store/helpers.ts";
import { corpusStores, runCorpus } from "../../test/store/bitflip.ts";

const count = Number(process.argv[2] ?? 500);
const seed = Number(process.argv[3] ?? 1);
const { clean, crashed } = await corpusStores();
let wrong = 0;
for (const [label, source, s] of [["clean store", clean, seed], ["crash image", crashed, seed + 1]] as const) {
  const started = performance.now();
  const counts = await runCorpus(source, s, count);
  wrong += counts.servedWrong.length;
  console.log(
    `${label}: ${counts.tried} flips tried, ${counts.detected} detected, ${counts.harmless} read back unchanged, ` +
      `${counts.eventsLost} took events with a damaged journal record (reported), ${counts.servedWrong.length} served wrong ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  for (const line of counts.servedWrong.slice(0, 10)) console.log(`  ${line}`);
}
cleanScratch();
process.exit(wrong === 0 ? 0 : 1);
