import { afterAll, describe, expect, test } from "bun:test";
import { cleanScratch } from "./helpers.ts";
import { corpusStores, runCorpus } from "./bitflip.ts";

afterAll(cleanScratch);

// Small and seeded here; scripts/bench/bitflip.ts runs the long version.
describe("bit-flip corpus (seeded)", () => {
  test("no flip crashes the open or makes anything serve other than what was acknowledged", async () => {
    const { clean, crashed } = await corpusStores();
    for (const [source, seed] of [[clean, 12], [crashed, 34]] as const) {
      const counts = await runCorpus(source, seed, 40);
      expect(counts.servedWrong).toEqual([]);
      expect(counts.tried).toBe(40);
      expect(counts.detected).toBeGreaterThan(20);
    }
  }, 120_000);
});
